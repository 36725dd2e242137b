"""Names that say whom a listing is for, against its eligibility (geo_assets.audience)."""

from __future__ import annotations

import pytest

from geo_assets.audience import audience_hints
from geo_assets.ingest.base import audience_warnings
from geo_assets.model import Asset, Eligibility
from geo_assets.sample import read_sample
from geo_assets.synthetic import national_assets


def _asset(name: str, **who: object) -> Asset:
    return Asset(
        kind="group",
        name=name,
        categories=["social"],
        location={"lat": 53.79, "lon": -1.75},
        eligibility=Eligibility(**who),
    )


@pytest.mark.parametrize(
    ("name", "who", "hint"),
    [
        ("Ladies' Darts", {}, "the name says it is for women, but “Who can come” says everyone"),
        ("Girls' Brigade", {"gender": "men"}, "for girls, but “Who can come” says men only"),
        ("Gents Snooker", {}, "the name says it is for men"),
        ("Under 11s Football", {}, "the name says under 11s, but no oldest age is set"),
        ("U18s Rugby", {"max_age": 18}, "the name says under 18s, but the oldest age is 18"),
        ("Over 50s Walking", {}, "the name says over 50s, but no youngest age is set"),
        ("Over-60s Lunch", {"min_age": 50}, "the name says over 60s, but the youngest age is 50"),
        ("Junior Chess", {}, "the name says “junior”, but no oldest age is set"),
        (
            "Bowling Kids Club",
            {"min_age": 18},
            "the name says “children”, but the youngest age is 18",
        ),
        ("Seniors Club", {}, "the name says it is for older people, but no youngest age is set"),
        # Grown-ups who bring the children are kept out by ages that are only the children's.
        ("Parent & Toddler", {"max_age": 4}, "the name says grown-ups bring children"),
        ("Stay and Play", {"min_age": 0, "max_age": 5}, "tick “Children come with a parent"),
        ("Mums and Tots", {"max_age": 4}, "the ages leave them out"),
        ("Autism Family Group", {"max_age": 17}, "the name says grown-ups bring children"),
    ],
)
def test_a_name_that_names_an_audience_its_eligibility_does_not_say_gets_a_hint(name, who, hint):
    hints = audience_hints(_asset(name, **who))
    assert len(hints) == 1
    assert hint in hints[0]


@pytest.mark.parametrize(
    ("name", "who"),
    [
        ("Ladies' Darts", {"gender": "women"}),
        ("Under 11s Football", {"max_age": 10}),
        ("Over-60s Lunch", {"min_age": 60}),
        ("Older People's Forum", {"min_age": 55}),
        ("Toddler Group", {"max_age": 4}),
        ("Parent & Toddler", {"max_age": 4, "with_carers": True}),
        ("Dads and Kids", {"max_age": 11, "with_carers": True}),
        ("Carers' Cafe", {"min_age": 18}),
        ("Young Carers Group", {"min_age": 8, "max_age": 17}),
        ("Family History Society", {}),
        # Words that often do not mean what they say, or names for everyone.
        ("Men's Shed", {}),
        ("Mens Sheds Bradford", {}),
        ("Working Men's Club", {}),
        ("YMCA Gym", {}),
        ("Young at Heart", {}),
        ("Mixed Netball", {}),
        ("Men and Women's Choir", {}),
        ("Boys and Girls Club", {}),
        ("U3A Bradford", {}),
        ("Over 5s Swim", {}),
        ("Chess Club", {}),
    ],
)
def test_names_that_agree_with_eligibility_or_say_no_audience_get_none(name, who):
    assert audience_hints(_asset(name, **who)) == []


def test_both_a_sex_and_an_age_are_hinted():
    hints = audience_hints(_asset("Over 50s Ladies Walk"))
    assert len(hints) == 2
    assert any("for women" in h for h in hints) and any("over 50s" in h for h in hints)


def test_an_import_warning_names_the_rows_and_stops_at_ten():
    good = [(i + 2, _asset(f"Ladies' Darts {i}")) for i in range(12)] + [(20, _asset("Chess"))]
    (warning,) = audience_warnings(good)
    assert warning.startswith("12 listing(s) have names that say whom they are for")
    assert "row 2 “Ladies' Darts 0”: the name says it is for women" in warning
    assert "row 11 “Ladies' Darts 9”" in warning and "row 12 " not in warning
    assert warning.endswith("; and 2 more")
    assert audience_warnings([(20, _asset("Chess"))]) == []


def test_our_own_sample_and_national_data_agree_with_their_names():
    """The generator reads names as the hints do, so none of its listings is hinted."""
    _, sample = read_sample()
    hinted = [a.name for a in [*sample, *national_assets(5_000)] if audience_hints(a)]
    assert hinted == []
