"""The organisation portal (to be written): own listings, add/edit, "still running", uploads."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False, tags=["pages"])
