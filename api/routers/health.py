"""Liveness and readiness probes for process managers and load balancers."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import StoreDep
from api.errors import PROBLEM_JSON

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests; it does not touch the database."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store answers",
    responses={503: {"description": "The store cannot be reached", "content": {PROBLEM_JSON: {}}}},
)
def readyz(store: StoreDep) -> dict[str, str]:
    """200 when the store answers a ping; 503 problem (with Retry-After) when it does not."""
    store.ping()
    return {"status": "ready"}
