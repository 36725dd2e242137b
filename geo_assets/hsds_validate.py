"""Offline validation of documents against the Open Referral HSDS 3.0 JSON Schemas.

The schemas are vendored in ``data/hsds/3.0`` (see its README for source and licence). Their
``$ref``s use absolute ``raw.githubusercontent.com`` URLs (the OpenAPI) or relative file names
(per-object schemas); a ``referencing`` registry serves every such URL from the local folder and
refuses all others, so validation never touches the network.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

from geo_assets.errors import InvalidInputError
from geo_assets.taxonomy import DATA_DIR

SCHEMA_DIR = DATA_DIR / "hsds" / "3.0"
# The absolute URL prefix the HSDS 3.0 OpenAPI uses in its `$ref`s; mapped to SCHEMA_DIR.
SCHEMA_BASE_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"

_ITEM_SCHEMAS = {
    "service": "compiled/service.json",
    "service_list": "compiled/service_list.json",
    "service_at_location": "compiled/service_at_location.json",
    "service_at_location_list": "compiled/service_at_location_list.json",
    "organization": "compiled/organization.json",
    "organization_list": "compiled/organization_list.json",
    "taxonomy": "taxonomy.json",
    "taxonomy_term": "taxonomy_term.json",
}
# Page kinds use the 200 response schema of the HSDS OpenAPI for that path.
_PAGE_PATHS = {
    "service_page": "/services",
    "service_at_location_page": "/service_at_locations",
    "organization_page": "/organizations",
    "taxonomy_page": "/taxonomies",
    "taxonomy_term_page": "/taxonomy_terms",
}
HSDS_KINDS: tuple[str, ...] = (*_ITEM_SCHEMAS, *_PAGE_PATHS)
# The OpenAPI's Page lists the envelope fields without requiring them; we do.
_ENVELOPE = {
    "type": "object",
    "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                 "last_page", "empty", "contents"],
    "properties": {"contents": {"type": "array"}},
}  # fmt: skip


class HSDSValidationError(ValueError):
    """A document breaks the HSDS 3.0 schema; ``errors`` lists ``path: message`` lines."""

    def __init__(self, kind: str, errors: list[str]) -> None:
        shown = "; ".join(errors[:5]) + (f"; ... {len(errors) - 5} more" if len(errors) > 5 else "")
        super().__init__(f"not a valid HSDS 3.0 {kind}: {shown}")
        self.kind = kind
        self.errors = errors


@cache
def _retrieve(uri: str) -> Resource:
    """Serve the schemas' absolute URLs from SCHEMA_DIR; never the network."""
    if not uri.startswith(SCHEMA_BASE_URL):
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
    path = (SCHEMA_DIR / uri[len(SCHEMA_BASE_URL) :]).resolve()
    if SCHEMA_DIR.resolve() not in path.parents or not path.is_file():
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
    contents = json.loads(path.read_text(encoding="utf-8"))
    # The files carry no `$schema`; the OpenAPI declares JSON Schema 2020-12.
    return Resource.from_contents(contents, default_specification=DRAFT202012)


@cache
def _validator(kind: str) -> Draft202012Validator:
    if kind in _ITEM_SCHEMAS:
        schema: dict[str, Any] = {"$ref": SCHEMA_BASE_URL + _ITEM_SCHEMAS[kind]}
    elif kind in _PAGE_PATHS:
        escaped = _PAGE_PATHS[kind].replace("~", "~0").replace("/", "~1")
        pointer = f"#/paths/{escaped}/get/responses/200/content/application~1json/schema"
        schema = {"allOf": [{"$ref": SCHEMA_BASE_URL + "openapi.json" + pointer}, _ENVELOPE]}
    else:
        raise InvalidInputError(
            f"`kind` must be one of {sorted(HSDS_KINDS)}; got {kind!r}", field="kind"
        )
    return Draft202012Validator(
        schema,
        registry=Registry(retrieve=_retrieve),  # type: ignore[call-arg]
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def hsds_errors(kind: str, document: Any) -> list[str]:
    """Every way ``document`` breaks the HSDS 3.0 schema of ``kind`` (``path: message``).

    ``kind`` is an object (``service``, ``service_list``, ``service_at_location``,
    ``service_at_location_list``, ``organization``, ``organization_list``, ``taxonomy``,
    ``taxonomy_term``; compiled schemas where HSDS has them) or a list page
    (``service_page``...), checked with the OpenAPI's response schema plus the envelope.
    """
    found = sorted(_validator(kind).iter_errors(document), key=lambda e: e.json_path)
    return [f"{e.json_path}: {e.message}" for e in found]


def validate_hsds(kind: str, document: Any) -> None:
    """Raise :class:`HSDSValidationError` unless ``document`` is a valid HSDS 3.0 ``kind``."""
    errors = hsds_errors(kind, document)
    if errors:
        raise HSDSValidationError(kind, errors)
