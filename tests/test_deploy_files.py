"""The files that deploy and run the project: compose, Dockerfile, CI entry point, layering."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
CI_RUN = ROOT / ".ci" / "run"
README = ROOT / "README.md"
# The web layers sit above the core; uvicorn is only started by name from `geo-assets serve`.
WEB_PACKAGES = {"fastapi", "starlette", "folium", "api", "maps"}


def quick_start_commands() -> list[str]:
    """The commands in the first code block under the README's "Quick start" heading."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.S)
    assert block, "no code block under Quick start"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def compose() -> dict:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_has_db_and_api_services(compose: dict) -> None:
    assert {"db", "api"} <= set(compose["services"])


def test_db_service_is_postgis_with_volume_and_healthcheck(compose: dict) -> None:
    db = compose["services"]["db"]
    assert db["image"].startswith("postgis/postgis:")
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    test = db["healthcheck"]["test"]
    assert "pg_isready" in " ".join(test if isinstance(test, list) else [test])
    assert {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(db["environment"])


def test_api_waits_for_a_healthy_db_and_points_at_it(compose: dict) -> None:
    api = compose["services"]["api"]
    assert api["build"] == "."
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    url = api["environment"]["GEO_ASSETS_DATABASE_URL"]
    db_env = compose["services"]["db"]["environment"]
    assert url.startswith("postgresql://")
    assert f"@db:5432/{db_env['POSTGRES_DB']}" in url
    assert url.split("://", 1)[1].startswith(db_env["POSTGRES_USER"] + ":")
    assert any(str(p).split(":")[-1] == "8000" for p in api["ports"])


def test_schema_is_migrated_before_the_api_starts(compose: dict) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["geo-assets", "db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["environment"] == compose["services"]["api"]["environment"]
    # The container's clock is UTC: the service must be told the zone sessions are read in.
    assert compose["services"]["api"]["environment"]["GEO_ASSETS_TIME_ZONE"]
    api = compose["services"]["api"]
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfile_installs_and_serves_as_non_root() -> None:
    lines = [ln.strip() for ln in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    instructions = [
        ln.split()[0] for ln in lines if ln and not ln.startswith("#") and ln[0].isupper()
    ]
    assert instructions[0] == "FROM"
    assert any(ln.startswith("FROM python:3.11") for ln in lines)
    user = [ln for ln in lines if ln.startswith("USER ")]
    assert user and user[-1].split()[1] not in ("root", "0")
    cmd = [ln for ln in lines if ln.startswith("CMD ")]
    assert cmd and "geo-assets" in cmd[-1] and "serve" in cmd[-1] and "0.0.0.0" in cmd[-1]
    assert any("pip install ." in ln for ln in lines)


def test_readme_starts_with_exactly_two_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    for command in commands:
        script = ROOT / command.split()[0]
        assert script.is_file() and os.access(script, os.X_OK), command


def test_ci_runs_exactly_the_readme_test_command() -> None:
    text = CI_RUN.read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    body = [ln for ln in lines[1:] if not ln.startswith(("#", "set ", "cd "))]
    assert body == [quick_start_commands()[1]]
    assert os.access(CI_RUN, os.X_OK)


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path", sorted((ROOT / "geo_assets").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_core_library_has_no_web_imports(path: Path) -> None:
    assert not _imported_packages(path) & WEB_PACKAGES


def test_core_library_is_scanned() -> None:
    scanned = {p.name for p in (ROOT / "geo_assets").rglob("*.py")}
    assert {"cli.py", "model.py"} <= scanned


def test_maps_does_not_import_api() -> None:
    for path in (ROOT / "maps").rglob("*.py"):
        assert "api" not in _imported_packages(path), path
