"""The admin moderation queue (to be written): pending listings, publish or archive."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False, tags=["pages"])
