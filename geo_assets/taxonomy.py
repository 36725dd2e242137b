"""The category tree of community activities, with synonyms and Five Ways to Wellbeing tags.

The seed tree lives in ``data/taxonomy.json`` as a flat list of
``{id, name, parent_id, synonyms, five_ways}``; ids are dotted slugs whose
prefix is the parent id (``nature.gardening.allotments``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from geo_assets.errors import InvalidInputError

FiveWays = Literal["connect", "be_active", "take_notice", "keep_learning", "give"]
FIVE_WAYS: tuple[str, ...] = FiveWays.__args__  # type: ignore[attr-defined]

# The repository's data/ folder; GEO_ASSETS_DATA_DIR points elsewhere (e.g. an installed image).
DATA_DIR = Path(
    os.environ.get("GEO_ASSETS_DATA_DIR") or Path(__file__).resolve().parent.parent / "data"
)
TAXONOMY_PATH = DATA_DIR / "taxonomy.json"


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$")
    name: str = Field(min_length=1)
    parent_id: str | None = None
    synonyms: tuple[str, ...] = ()
    five_ways: tuple[FiveWays, ...] = ()


_TERMS = TypeAdapter(list[Term])


class Taxonomy:
    """An immutable tree of terms with fast parent/child look-ups."""

    def __init__(self, terms: list[Term]) -> None:
        self.terms: dict[str, Term] = {}
        self.children: dict[str | None, list[str]] = {}
        for term in terms:
            if term.id in self.terms:
                raise InvalidInputError(f"taxonomy: duplicate id {term.id!r}", field="id")
            self.terms[term.id] = term
        for term in terms:
            if term.parent_id is not None and term.parent_id not in self.terms:
                raise InvalidInputError(
                    f"taxonomy: {term.id!r} has unknown parent {term.parent_id!r}",
                    field="parent_id",
                )
            self.children.setdefault(term.parent_id, []).append(term.id)

    def __contains__(self, term_id: object) -> bool:
        return term_id in self.terms

    def __len__(self) -> int:
        return len(self.terms)

    def __iter__(self) -> Iterator[Term]:
        """Depth-first, in file order: each parent before its children."""

        def walk(parent: str | None) -> Iterator[Term]:
            for child in self.children.get(parent, []):
                yield self.terms[child]
                yield from walk(child)

        return walk(None)

    def get(self, term_id: str) -> Term:
        try:
            return self.terms[term_id]
        except KeyError:
            raise InvalidInputError(f"unknown category id {term_id!r}", field="category") from None

    def roots(self) -> list[Term]:
        return [self.terms[t] for t in self.children.get(None, [])]

    def ancestors(self, term_id: str) -> list[str]:
        """Parent first, root last (the term itself excluded)."""
        out = []
        parent = self.get(term_id).parent_id
        while parent is not None:
            out.append(parent)
            parent = self.terms[parent].parent_id
        return out

    def root_of(self, term_id: str) -> str:
        chain = self.ancestors(term_id)
        return chain[-1] if chain else term_id

    def descendants(self, term_id: str, *, include_self: bool = False) -> list[str]:
        self.get(term_id)
        out = [term_id] if include_self else []
        stack = list(reversed(self.children.get(term_id, [])))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return out

    def depth(self, term_id: str) -> int:
        """0 for a top-level term."""
        return len(self.ancestors(term_id))

    def as_records(self) -> list[dict[str, object]]:
        return [t.model_dump(mode="json") for t in self]


def load_taxonomy(path: Path | str = TAXONOMY_PATH) -> Taxonomy:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return Taxonomy(_TERMS.validate_python(raw))


@cache
def default_taxonomy() -> Taxonomy:
    """The seed taxonomy shipped in ``data/``; loaded once per process."""
    return load_taxonomy()
