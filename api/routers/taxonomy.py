"""``GET /taxonomy``: the category tree that ``category`` filters and interests refer to."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.routers.schemas import problems
from geo_assets.taxonomy import FiveWays, Taxonomy, default_taxonomy

router = APIRouter(tags=["taxonomy"])

# The taxonomy only changes with a release; clients and proxies may keep it an hour.
CACHE_CONTROL = "public, max-age=3600"


class TermFields(BaseModel):
    id: str = Field(description="dotted id: the parent's id, a dot, then a slug")
    name: str
    synonyms: list[str] = Field(description="other ways people say it (used by matching)")
    five_ways: list[FiveWays] = Field(description="Five Ways to Wellbeing it supports")


class FlatTerm(TermFields):
    parent_id: str | None
    depth: int = Field(description="0 for a top-level term")


class TermNode(TermFields):
    children: list[TermNode]


class TaxonomyTree(BaseModel):
    format: Literal["tree"] = "tree"
    count: int = Field(description="terms in the whole tree")
    terms: list[TermNode] = Field(description="the top-level terms, each with its children")


class TaxonomyFlat(BaseModel):
    format: Literal["flat"] = "flat"
    count: int
    terms: list[FlatTerm] = Field(description="every term, each parent before its children")


def tree_of(taxonomy: Taxonomy, parent_id: str | None = None) -> list[TermNode]:
    """The terms under ``parent_id`` (the roots for None), in file order, nested."""
    out = []
    for term_id in taxonomy.children.get(parent_id, []):
        term = taxonomy.terms[term_id]
        out.append(
            TermNode(
                id=term.id,
                name=term.name,
                synonyms=list(term.synonyms),
                five_ways=list(term.five_ways),
                children=tree_of(taxonomy, term.id),
            )
        )
    return out


def flat_of(taxonomy: Taxonomy) -> list[FlatTerm]:
    return [
        FlatTerm(
            id=t.id,
            name=t.name,
            parent_id=t.parent_id,
            depth=taxonomy.depth(t.id),
            synonyms=list(t.synonyms),
            five_ways=list(t.five_ways),
        )
        for t in taxonomy
    ]


@router.get(
    "/taxonomy",
    response_model=TaxonomyTree | TaxonomyFlat,
    summary="The category tree (nested, or flat with parent ids)",
    responses=problems(422),
)
def get_taxonomy(
    response: Response,
    layout: Annotated[
        Literal["tree", "flat"],
        Query(alias="format", description="`tree` (nested children) or `flat` (parent_id)"),
    ] = "tree",
) -> TaxonomyTree | TaxonomyFlat:
    taxonomy = default_taxonomy()
    response.headers["Cache-Control"] = CACHE_CONTROL
    if layout == "flat":
        return TaxonomyFlat(count=len(taxonomy), terms=flat_of(taxonomy))
    return TaxonomyTree(count=len(taxonomy), terms=tree_of(taxonomy))
