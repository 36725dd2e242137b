"""Numbered SQL migrations, one folder per dialect (``postgis/``, ``sqlite/``).

File names are ``NNNN_description.sql``; the number is the version recorded in
each store's ``schema_migrations`` table once applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Literal

Dialect = Literal["postgis", "sqlite"]


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str


def migrations(dialect: Dialect) -> list[Migration]:
    """All migrations of a dialect, oldest first."""
    folder = resources.files(__package__).joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(version, rest.removesuffix(".sql"), entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)
