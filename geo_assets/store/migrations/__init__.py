"""Numbered SQL migrations, one folder per dialect (``postgis/``, ``sqlite/``).

File names are ``NNNN_description.sql``; the number is the version recorded in
each store's ``schema_migrations`` table once applied.

A migration that rewrites every row of a table (a backfill: ``UPDATE assets SET ...``)
says so in a comment line, ``-- rewrites: assets``. On PostGIS the rewrite leaves a
dead copy of each row behind and new columns without statistics; measured on 100,000
listings, that slowed the densest centre's match from 16 to 39 ms (p50) until the
table was vacuumed and analysed, which the store's upgrade then does. SQLite rewrites
rows in place: the same rewrite left its match times as they were (measured alike). But
SQLite keeps statistics per index, and a new index has none until ANALYZE counts it, so
the SQLite store analyses after any migration it applied, rewrite or not.
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

    @property
    def rewrites(self) -> tuple[str, ...]:
        """The tables whose rows it rewrites, from its ``-- rewrites:`` lines."""
        return tuple(
            table.strip()
            for line in self.sql.splitlines()
            if line.startswith(_REWRITES)
            for table in line.removeprefix(_REWRITES).split(",")
            if table.strip()
        )


_REWRITES = "-- rewrites:"


def migrations(dialect: Dialect) -> list[Migration]:
    """All migrations of a dialect, oldest first."""
    folder = resources.files(__package__).joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(version, rest.removesuffix(".sql"), entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)
