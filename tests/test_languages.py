"""Language names and codes, as people type them and as listings store them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from geo_assets.languages import (
    language_by_name,
    language_code,
    language_name,
    languages_in,
)
from geo_assets.model import Profile


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Urdu", "ur"),
        (" urdu ", "ur"),
        ("Bangla", "bn"),
        ("British  Sign Language", "bsl"),
        ("UR", "ur"),
        ("pt-BR", "pt-BR"),
        ("Ewe", "ewe"),  # not in our table, but shaped like a code: ISO 639-2 for Ewe
        ("Klingon", None),
        ("Urdu!", None),
        ("", None),
    ],
)
def test_a_language_is_read_from_its_name_or_its_code(typed: str, code: str | None) -> None:
    assert language_code(typed) == code


def test_names_are_only_names() -> None:
    assert language_by_name("Polish") == "pl"
    assert language_by_name("pl") is None


def test_a_code_is_named_in_english_or_left_as_it_is() -> None:
    assert language_name("ur") == "Urdu"
    assert language_name("pt-BR") == "Portuguese"
    assert language_name("ewe") == "ewe"


@pytest.mark.parametrize(
    "typed",
    ["English, Urdu", "English and Urdu", "en; ur", "English/Urdu", "English & urdu", "en\nUR"],
)
def test_a_typed_list_of_languages_reads_as_people_write_it(typed: str) -> None:
    assert languages_in(typed) == ["en", "ur"]


def test_scottish_gaelic_is_one_language_not_two() -> None:
    assert languages_in("Scottish Gaelic and English") == ["gd", "en"]


def _profile(**kw) -> Profile:
    return Profile.model_validate(
        {"origin": {"lat": 53.8, "lon": -1.75}, "travel": [{"mode": "walk", "max_minutes": 20}]}
        | kw
    )


def test_a_profile_keeps_the_codes_of_the_languages_it_was_given() -> None:
    assert _profile(languages=["Urdu", "ur", "English", "pl"]).languages == ["ur", "en", "pl"]


def test_a_language_nobody_knows_is_named_in_the_error() -> None:
    with pytest.raises(ValidationError) as info:
        _profile(languages=["Urdu", "Klingon"])
    (error,) = info.value.errors()
    assert error["loc"] == ("languages",)
    assert "'Klingon' is not a language we know" in error["msg"]
