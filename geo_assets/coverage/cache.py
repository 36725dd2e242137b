"""A small in-memory cache of coverage results per (dataset version, parameters).

A coverage run over a region takes seconds; the dashboard asks for the same one many
times. Results stay valid while the assets do not change, so the key joins a dataset
version the caller provides (:func:`dataset_version` gives one from the assets: count,
latest update and a digest of ids and versions) with a hash of the parameters.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from geo_assets.errors import InvalidInputError
from geo_assets.model import Asset
from geo_assets.store.base import latest_change

T = TypeVar("T")
DEFAULT_ENTRIES = 16
# How long a remembered dataset version is trusted on the cheap check alone (an edit in
# the same second as the newest one seen cannot be told apart by ``modified_after``).
DATASET_TTL_S = 300.0


@dataclass(frozen=True)
class DatasetStamp:
    """What a caller saw of a dataset: its version, row count and newest ``updated_at``."""

    version: str
    count: int
    latest: datetime | None
    seen_at_s: float


def dataset_version(assets: Sequence[Asset]) -> str:
    """``"<count>:<latest updated_at>:<digest>"``: changes whenever any asset is added or edited."""
    latest = latest_change(assets)
    digest = hashlib.sha256()
    for ident, version in sorted((a.id, a.version) for a in assets):
        digest.update(f"{ident}@{version};".encode())
    stamp = latest.isoformat() if latest else "-"
    return f"{len(assets)}:{stamp}:{digest.hexdigest()[:16]}"


def cache_key(version: str, params: Mapping[str, Any]) -> str:
    """SHA-256 of the version and the parameters (keys sorted, so order does not matter)."""
    text = json.dumps({"version": version, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CoverageCache:
    """Least-recently-used cache of up to ``max_entries`` results; safe across threads.

    It also remembers, per scope (e.g. a set of categories), the last dataset stamp seen,
    so a caller can skip re-reading every asset when a count says nothing changed.
    """

    def __init__(
        self, max_entries: int = DEFAULT_ENTRIES, dataset_ttl_s: float = DATASET_TTL_S
    ) -> None:
        if max_entries < 1:
            raise InvalidInputError("`max_entries` must be 1 or more", field="max_entries")
        self.max_entries = max_entries
        self.dataset_ttl_s = dataset_ttl_s
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[str, threading.Lock] = {}
        self._stamps: dict[Hashable, DatasetStamp] = {}
        self.hits = 0
        self.misses = 0
        self.computed = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, version: str, params: Mapping[str, Any]) -> Any | None:
        key = cache_key(version, params)
        with self._lock:
            if key not in self._items:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, version: str, params: Mapping[str, Any], value: Any) -> None:
        key = cache_key(version, params)
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def get_or_compute(
        self, version: str, params: Mapping[str, Any], compute: Callable[[], T]
    ) -> T:
        """The cached result, or ``compute()`` stored under the key.

        One computation per key at a time: a request arriving while the same run is being
        computed waits for it instead of computing it again. Different keys run in parallel.
        """
        found = self.get(version, params)
        if found is not None:
            return found  # type: ignore[no-any-return]
        key = cache_key(version, params)
        with self._lock:
            running = self._computing.setdefault(key, threading.Lock())
        with running:
            found = self.get(version, params)
            if found is not None:
                return found  # type: ignore[no-any-return]
            value = compute()
            self.computed += 1
            self.put(version, params, value)
        with self._lock:
            self._computing.pop(key, None)
        return value

    def stamp(self, scope: Hashable) -> DatasetStamp | None:
        """The dataset stamp last noted for ``scope``, unless older than ``dataset_ttl_s``."""
        found = self._stamps.get(scope)
        if found is None or time.monotonic() - found.seen_at_s > self.dataset_ttl_s:
            return None
        return found

    def note_stamp(
        self, scope: Hashable, version: str, count: int, latest: datetime | None
    ) -> None:
        with self._lock:
            self._stamps[scope] = DatasetStamp(version, count, latest, time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._stamps.clear()
