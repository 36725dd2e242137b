"""Category cells to taxonomy ids, for the importers that take categories as people write
them (the spreadsheet template, GeoJSON properties): ids, names, synonyms or a unique
last part of an id, in any case, singular or plural."""

from __future__ import annotations

import re

from geo_assets.taxonomy import Taxonomy, default_taxonomy


class CategoryResolver:
    """Category cells to taxonomy ids: exact ids, names and synonyms (case-insensitive)."""

    def __init__(self, taxonomy: Taxonomy | None = None) -> None:
        self.taxonomy = taxonomy or default_taxonomy()
        self.labels: dict[str, str] = {}
        for term in self.taxonomy:
            for label in (term.name, *term.synonyms):
                self.labels.setdefault(self._key(label), term.id)
        leaves: dict[str, list[str]] = {}
        for term in self.taxonomy:  # "knitting" for hobbies.crafts.knitting, when unique
            leaves.setdefault(term.id.rsplit(".", 1)[-1].replace("-", " "), []).append(term.id)
        for leaf, ids in leaves.items():
            if len(ids) == 1:
                self.labels.setdefault(leaf, ids[0])
        for term in self.taxonomy:  # ids win over any clashing label
            self.labels[term.id] = term.id

    @staticmethod
    def _key(text: str) -> str:
        return " ".join(re.sub(r"[^\w.]+", " ", text.casefold()).split())

    def resolve(self, text: str) -> str | None:
        if text.strip() in self.taxonomy:
            return text.strip()
        key = self._key(text)
        if key in self.labels:
            return self.labels[key]
        if key.endswith("s") and key[:-1] in self.labels:  # "allotment" / "allotments"
            return self.labels[key[:-1]]
        return self.labels.get(key + "s")
