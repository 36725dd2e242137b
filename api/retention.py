"""The running service deletes saved plans that outlived their retention period (and the
tokens of web sessions that have ended).

A saved plan is pseudonymous, but it still says which groups somebody was offered, so
it is kept only ``settings.plan_retention_days``. The app's lifespan runs
:func:`purge_plans_periodically` as a background task: once at start-up, then every
``PURGE_EVERY_S``. ``geo-assets plans purge`` does the same from the command line (for
a cron job, or when a practitioner leaves). With several worker processes each runs it;
deleting what is already gone changes nothing. ``settings.purge_plans_in_service`` off
leaves it to cron.

Log lines carry counts only, never a reference or an owner.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from geo_assets.model import utcnow
from geo_assets.plans import purge_expired
from geo_assets.store import Store

PURGE_EVERY_S = 24 * 3600.0

_log = logging.getLogger(__name__)


async def purge_plans_periodically(
    store: Store, retention_days: int, every_s: float = PURGE_EVERY_S
) -> None:
    """Purge expired plans now and then every ``every_s`` seconds, until cancelled.

    A failure (the database is down, or not yet upgraded) is logged and tried again on
    the next round: it must never stop the service. Cancelled while a purge runs, it
    ends once that purge has (the caller closes the store after it)."""
    while True:
        purge = asyncio.ensure_future(run_in_threadpool(_tidy, store, retention_days))
        try:
            deleted = await asyncio.shield(purge)
        except asyncio.CancelledError:
            # Stopping. The purge's thread cannot be interrupted and the store is closed
            # next: closing it under a running statement can crash the process (SQLite).
            await asyncio.wait([purge])
            if not purge.cancelled() and purge.exception() is not None:
                _log.warning("could not delete expired saved plans", exc_info=purge.exception())
            raise
        except Exception:
            _log.warning("could not delete expired saved plans; will try again", exc_info=True)
        else:
            plans, sessions = deleted
            if plans:
                _log.info("deleted %d saved plan(s) older than %d days", plans, retention_days)
            if sessions:
                _log.info("deleted %d ended web session token(s)", sessions)
        await asyncio.sleep(every_s)


def _tidy(store: Store, retention_days: int) -> tuple[int, int]:
    """Delete the tokens of web sessions that have ended (refused since, so nothing is
    lost), then the plans past their retention; how many of each. A failure with the
    tokens is logged here, so it never keeps the plans from going."""
    try:
        sessions = store.delete_expired_tokens(utcnow())
    except Exception:
        _log.warning("could not delete ended web session tokens; will try again", exc_info=True)
        sessions = 0
    return purge_expired(store, retention_days), sessions
