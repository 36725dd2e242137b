"""The planner dashboard (to be written): coverage map, gap table and downloads."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False, tags=["pages"])
