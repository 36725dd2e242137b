"""The `geo-assets` command, driven in-process through typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from geo_assets.cli import app
from geo_assets.taxonomy import default_taxonomy

runner = CliRunner()


def _command_paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path in the tree (typer ships its own click, so duck-type groups)."""
    paths = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        paths.extend(_command_paths(sub, (*prefix, name)))
    return paths


ALL_COMMANDS = _command_paths(typer.main.get_command(app))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def test_every_expected_command_exists() -> None:
    expected = {
        ("taxonomy",),
        ("db", "upgrade"),
        ("sample", "load"),
        ("sample", "generate"),
        ("serve",),
    }
    assert expected <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "(root)")
def test_help_on_every_command(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_python_m_geo_assets_is_the_same_command() -> None:
    """For a machine where the console script is not on PATH."""
    result = subprocess.run(
        [sys.executable, "-m", "geo_assets", "taxonomy", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    direct = runner.invoke(app, ["taxonomy", "--json"])
    assert json.loads(result.stdout) == json.loads(direct.stdout)


def test_global_option_is_documented_with_its_env_var() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--database-url" in result.output
    assert "GEO_ASSETS_DATABASE_URL" in result.output


def test_taxonomy_tree_is_indented_by_depth() -> None:
    result = runner.invoke(app, ["taxonomy"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    tree = default_taxonomy()
    assert len(lines) == len(tree)
    for line, term in zip(lines, tree, strict=True):
        indent = len(line) - len(line.lstrip(" "))
        assert indent == 2 * tree.depth(term.id)
        assert f"({term.id})" in line


def test_taxonomy_json_lists_every_term_with_its_fields() -> None:
    result = runner.invoke(app, ["taxonomy", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert isinstance(records, list)
    assert len(records) == len(default_taxonomy())
    for record in records:
        assert set(record) == {"id", "name", "parent_id", "synonyms", "five_ways"}
        assert isinstance(record["synonyms"], list)
        assert isinstance(record["five_ways"], list)
    ids = {r["id"] for r in records}
    assert all(r["parent_id"] is None or r["parent_id"] in ids for r in records)


def test_db_upgrade_twice_changes_nothing_the_second_time(sqlite_url: str) -> None:
    first = runner.invoke(app, ["--database-url", sqlite_url, "db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "applied migrations:" in first.output
    second = runner.invoke(app, ["--database-url", sqlite_url, "db", "upgrade"])
    assert second.exit_code == 0, second.output
    assert "up to date" in second.output


def test_database_url_is_read_from_the_environment(sqlite_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env={"GEO_ASSETS_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    assert Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_sample_load_twice_gives_the_same_count(sqlite_url: str) -> None:
    from geo_assets.store import open_store

    assert runner.invoke(app, ["--database-url", sqlite_url, "db", "upgrade"]).exit_code == 0
    counts = []
    for _ in range(2):
        result = runner.invoke(app, ["--database-url", sqlite_url, "sample", "load"])
        assert result.exit_code == 0, result.output
        assert "sample loaded:" in result.output
        store = open_store(sqlite_url)
        try:
            counts.append(store.count_assets())
        finally:
            store.close()
    assert counts[0] > 0
    assert counts[0] == counts[1]


def test_bad_database_url_exits_2_with_one_line_naming_the_setting() -> None:
    result = runner.invoke(app, ["--database-url", "mysql://localhost/x", "db", "upgrade"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error:")
    assert "database_url" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_unreachable_postgis_exits_1_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from geo_assets.store.postgis import PostGISStore

    def open_quickly(url: str, *, min_size: int = 1, max_size: int = 10) -> PostGISStore:
        return PostGISStore(url, min_size=min_size, max_size=max_size, timeout_s=1.0)

    monkeypatch.setattr("geo_assets.cli.open_store", open_quickly)
    url = "postgresql://nobody@127.0.0.1:9/geo_assets"
    result = runner.invoke(app, ["--database-url", url, "db", "upgrade"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error:")
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_sample_generate_writes_the_files_where_asked(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sample", "generate", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["assets.jsonl.gz", "organisations.jsonl.gz"]
    assert all((tmp_path / name).stat().st_size > 0 for name in written)


def test_sample_load_from_a_missing_folder_is_one_line(sqlite_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = runner.invoke(
        app, ["--database-url", sqlite_url, "sample", "load", "--from", str(missing)]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error:") and str(missing) in result.stderr
    assert isinstance(result.exception, SystemExit)


# --- match -------------------------------------------------------------------------------------


@pytest.fixture
def loaded_db(tmp_path: Path, sample_sqlite: Callable[[Path], str]) -> str:
    """A store loaded as `db upgrade` then `sample load` leave it (those commands' own
    tests run them)."""
    return sample_sqlite(tmp_path)


def test_match_prints_json_with_the_documented_keys(loaded_db):
    result = CliRunner().invoke(
        app,
        [
            "--database-url",
            loaded_db,
            "match",
            "--near",
            "53.795,-1.752",
            "--interest",
            "gardening",
            "--interest",
            "chess",
            "--travel",
            "walk:20",
            "--travel",
            "public_transport:35",
            "--free",
            "tue 09:00-13:00",
            "--free",
            "thu",
            "--json",
            "--limit",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 5
    for row in rows:
        assert {"asset_id", "name", "score", "minutes", "mode", "next_session", "reasons"} <= set(
            row
        )
    assert rows[0]["score"] >= rows[-1]["score"] - 0.2
    assert any("gardening" in reason for reason in rows[0]["reasons"])


def test_match_prints_a_table_by_default(loaded_db):
    result = CliRunner().invoke(
        app,
        ["--database-url", loaded_db, "match", "--near", "53.795,-1.752", "--interest", "footy"],
    )
    assert result.exit_code == 0, result.output
    assert "score" in result.stdout and "why" in result.stdout


def test_the_match_table_gives_each_reason_its_own_line(loaded_db):
    args = ["--near", "53.795,-1.752", "--interest", "gardening", "--limit", "3"]
    travel = ["--travel", "public_transport:35"]
    table = CliRunner().invoke(app, ["--database-url", loaded_db, "match", *args, *travel])
    rows = json.loads(
        CliRunner()
        .invoke(app, ["--database-url", loaded_db, "match", *args, *travel, "--json"])
        .stdout
    )
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    for row in rows:
        for reason in row["reasons"]:
            # Each reason starts a line of the "why" column (long ones wrap onto more).
            start = "- " + reason.split()[0]
            assert any(line.rstrip(" │").split("│")[-1].strip().startswith(start) for line in lines)
    assert "public_transport" not in table.stdout
    assert "by bus or" in table.stdout  # the travel column says it as the reasons do


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--near", "95,1"], "near"),
        (["--near", "53.8,-1.75", "--travel", "bus:10"], "travel.0.mode"),
        (["--near", "53.8,-1.75", "--travel", "walk:0"], "travel.0.max_minutes"),
        (["--near", "53.8,-1.75", "--travel", "walk:500"], "travel.0.max_minutes"),
        (["--near", "53.8,-1.75", "--travel", "walk"], "--travel"),
        (["--near", "53.8,-1.75", "--free", "someday"], "availability"),
    ],
)
def test_match_rejects_bad_input_naming_the_field(loaded_db, args, field):
    result = CliRunner().invoke(app, ["--database-url", loaded_db, "match", *args])
    assert result.exit_code == 2
    assert f"`{field}" in result.stderr


def test_match_takes_the_childrens_ages(loaded_db, monkeypatch):
    """``--child-age``, repeated, reaches the profile the matcher is given."""
    import geo_assets.matching

    seen = []
    real = geo_assets.matching.match

    def spy(store, profile, **kwargs):
        seen.append(profile)
        return real(store, profile, **kwargs)

    monkeypatch.setattr(geo_assets.matching, "match", spy)
    args = ["--near", "53.795,-1.752", "--interest", "parent and toddler group", "--age", "31"]
    result = CliRunner().invoke(
        app,
        ["--database-url", loaded_db, "match", *args, "--child-age", "2", "--child-age", "5"]
        + ["--json"],
    )
    assert result.exit_code == 0, result.output
    assert [p.children_ages for p in seen] == [[2, 5]]
    assert json.loads(result.stdout)


@pytest.mark.parametrize(
    ("ages", "field"),
    [
        (["30"], "children_ages.0"),
        (["2", "-1"], "children_ages.1"),
        (["3"] * 11, "children_ages"),
    ],
)
def test_match_rejects_a_bad_childs_age_naming_the_option(loaded_db, ages, field):
    args = ["--near", "53.8,-1.75"] + [a for age in ages for a in ("--child-age", age)]
    result = CliRunner().invoke(app, ["--database-url", loaded_db, "match", *args])
    assert result.exit_code == 2
    assert f"`{field}`" in result.stderr and "`--child-age`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "field", "option"),
    [
        (["--age", "x"], "age", "--age"),
        (["--age", "31.5"], "age", "--age"),
        (["--age", "200"], "age", "--age"),
        (["--child-age", "two"], "children_ages.0", "--child-age"),
        (["--max-cost", "a fiver"], "budget.max_per_session", "--max-cost"),
        (["--max-cost", "-1"], "budget.max_per_session", "--max-cost"),
        (["--limit", "0"], "limit", "--limit"),
        (["--limit", "101"], "limit", "--limit"),
        (["--limit", "-3"], "limit", "--limit"),
        (["--limit", "x"], "limit", "--limit"),
    ],
)
def test_a_number_that_is_not_one_gets_the_same_one_line_error(loaded_db, args, field, option):
    """ "--age x" was refused by the option parser's boxed usage message, unlike
    "--age 200": both now name the field and its option on one line."""
    result = CliRunner().invoke(
        app, ["--database-url", loaded_db, "match", "--near", "53.8,-1.75", *args]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: `{field}` (`{option}`): ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_numbers_given_as_text_reach_the_profile(loaded_db, monkeypatch):
    import geo_assets.matching

    seen = []
    monkeypatch.setattr(
        geo_assets.matching, "match", lambda store, profile, **kw: seen.append(profile) or []
    )
    args = ["--near", "53.8,-1.75", "--age", "31", "--child-age", "0", "--max-cost", "2.5"]
    result = CliRunner().invoke(app, ["--database-url", loaded_db, "match", *args])
    assert result.exit_code == 0, result.output
    assert (seen[0].age, seen[0].children_ages, seen[0].budget.max_per_session) == (31, [0], 2.5)


@pytest.mark.parametrize(
    ("args", "limit"), [([], 10), (["--limit", "1"], 1), (["--limit", "100"], 100)]
)
def test_the_limit_given_as_text_reaches_the_matcher(loaded_db, monkeypatch, args, limit):
    import geo_assets.matching

    seen = []
    monkeypatch.setattr(
        geo_assets.matching, "match", lambda store, profile, **kw: seen.append(kw["limit"]) or []
    )
    result = CliRunner().invoke(
        app, ["--database-url", loaded_db, "match", "--near", "53.8,-1.75", *args]
    )
    assert result.exit_code == 0, result.output
    assert seen == [limit]


def test_the_table_ends_with_how_many_fit_and_what_wider_searches_add(loaded_db):
    """As the search page says it: few of these fit, and a longer walk or a bus finds
    more."""
    from geo_assets.matching import match
    from geo_assets.model import Profile
    from geo_assets.store import open_store
    from geo_assets.widen import notes_on

    args = ["--near", "53.805,-1.765", "--interest", "football", "--travel", "walk:15"]
    result = CliRunner().invoke(app, ["--database-url", loaded_db, "match", *args])
    assert result.exit_code == 0, result.output
    person = Profile.model_validate(
        {
            "origin": {"lat": 53.805, "lon": -1.765},
            "interests": ["football"],
            "travel": [{"mode": "walk", "max_minutes": 15}],
        }
    )
    store = open_store(loaded_db)
    try:
        notes = notes_on(store, person, match(store, person), limit=10)
    finally:
        store.close()
    assert [w.added for w in notes.wider] == [None, "public_transport"]
    assert all(w.more_that_fit > 0 for w in notes.wider)
    assert result.stdout.splitlines()[-3:] == notes.lines()
    # JSON stays a plain list of results.
    as_json = CliRunner().invoke(app, ["--database-url", loaded_db, "match", *args, "--json"])
    assert isinstance(json.loads(as_json.stdout), list)
