"""HTTP schemas the resource routers share: problems, documented statuses, patches, paging.

Every error the API sends is an RFC 9457 problem (``api/errors.py``); ``problems(...)``
documents the statuses a route can answer with so the OpenAPI document lists them all.
``partial_model`` derives a PATCH body from a domain model, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from api.errors import PROBLEM_JSON
from geo_assets.model import NEW_ID_RULE


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is sent."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a tag URI naming the kind of problem, or about:blank")
    title: str
    status: int
    detail: str | None = None
    field: str | None = Field(default=None, description="the input to blame, when one is")


_PROBLEM_TEXT = {
    400: "The request cannot be understood",
    401: "A bearer token is needed, or the one sent is not valid",
    403: "The signed-in role may not do this",
    404: "No such record",
    409: "The write clashes with a stored record",
    413: "The request body is too large",
    422: "A parameter or a field of the body is invalid (`field` names it)",
    429: "Too many requests from this caller; see Retry-After",
    503: "The store cannot be reached; see Retry-After",
}
# Inline (no $ref): the schema has no nested models, and FastAPI only registers
# components for response models of the route's own media type.
_SCHEMA = Problem.model_json_schema()
# Statuses every write (and POST /match) may see besides its own.
WRITE_STATUSES = (400, 401, 403, 413, 422, 429, 503)
# How a create's body may name the new record.
ID_OPTIONAL = f"`id` is optional (one is made up); one given {NEW_ID_RULE}"


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem+json answers for ``statuses``."""
    return {
        status: {
            "description": _PROBLEM_TEXT[status],
            "content": {PROBLEM_JSON: {"schema": _SCHEMA}},
        }
        for status in statuses
    }


def location_header(description: str) -> dict[str, Any]:
    """The ``headers`` entry of a 201 response carrying ``Location``."""
    return {"Location": {"description": description, "schema": {"type": "string"}}}


def held_response(model: type[BaseModel], what: str) -> dict[str, Any]:
    """The 202 response of a ``PATCH`` some of whose changes wait for a moderator."""
    return {
        "description": "Some changes wait for a moderator (`Held-For-Review` names the "
        f"fields; `Location` is where they are shown); the body is the {what} as it now "
        "stands, with the other changes made",
        "model": model,
        "headers": {
            **location_header(f"the {what}'s held changes"),
            "Held-For-Review": {
                "description": "the held fields, comma-separated",
                "schema": {"type": "string"},
            },
        },
    }


def mark_held(response: Response, url: str, fields: list[str]) -> None:
    """Answer 202 when ``fields`` wait for review: where to see them, and which they are."""
    if fields:
        response.status_code = 202
        response.headers["Location"] = f"{url}/held-changes"
        response.headers["Held-For-Review"] = ", ".join(fields)


def page_count(total: int, per_page: int) -> int:
    """Pages needed for ``total`` items (at least 1, as ``store.base.Page.pages``)."""
    return max(1, -(-total // per_page))


def partial_model(
    model: type[BaseModel], name: str, *, exclude: frozenset[str], doc: str
) -> type[BaseModel]:
    """A PATCH body for ``model``: every field optional, ``exclude``d ones refused.

    Nested objects (``location``, ``cost``...) are plain objects here: the store merges
    them one level deep into the stored value and validates the whole result
    (``store.base.apply_patch``), so a patch may send only ``{"location": {"lat": ...}}``.
    Fields left out stay as they are; ``null`` clears an optional field.
    """
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        if field_name in exclude:
            continue
        annotation: Any = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = dict[str, Any]
        fields[field_name] = (annotation | None, Field(default=None, description=info.description))
    config = ConfigDict(extra="forbid")
    patch: type[BaseModel] = create_model(name, __config__=config, __doc__=doc, **fields)
    return patch


def changes_of(patch: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body sets (explicit nulls included), as JSON values."""
    return patch.model_dump(mode="json", exclude_unset=True)
