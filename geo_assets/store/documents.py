"""Reading stored JSON documents back into models, fast, with a small shared cache.

Both stores keep each record's full document as JSON. Building an Asset from it
is most of the cost of a dense radius query, so documents a store wrote itself
skip the model's after-validators, and recently decoded records are cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic_core import SchemaValidator

M = TypeVar("M", bound=BaseModel)


def _without_after_validators(node: Any) -> Any:
    if isinstance(node, dict):
        while node.get("type") == "function-after":
            node = node["schema"]
        return {key: _without_after_validators(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_without_after_validators(item) for item in node]
    return node


@cache
def _trusted_validator(model: type[BaseModel]) -> SchemaValidator:
    """A validator for documents a store wrote itself.

    Stored documents already passed every check on the way in, so reading them back
    skips the model's own after-validators (checks and idempotent normalisers such as
    sorting or taxonomy look-ups), which halves the cost of building an Asset. Types,
    defaults and before-validators still apply. Nested models (an Asset's location,
    accessibility...) are validated by the validators pydantic-core already built for
    their classes, after-validators included: it reuses those whatever schema it is
    given. They are cheap (about 1 us of 11 a listing, measured with pydantic-core 2.50).
    Falls back to the model's own validator.
    """
    try:
        return SchemaValidator(_without_after_validators(model.__pydantic_core_schema__))
    except Exception:  # a pydantic whose schema shape we do not know: be safe, not fast
        return model.__pydantic_validator__  # type: ignore[return-value]


def decode(model: type[M], doc: str) -> M:
    """A model from a JSON document this project's stores wrote."""
    decoded: M = _trusted_validator(model).validate_json(doc)
    return decoded


def shallow_copy(record: M) -> M:
    """What ``record.model_copy()`` gives (a new model sharing nested values), without the
    generic ``copy.copy`` calls that made it most of a dense radius query's Python time."""
    new = record.__class__.__new__(record.__class__)
    extra, private = record.__pydantic_extra__, record.__pydantic_private__
    object.__setattr__(new, "__dict__", record.__dict__.copy())
    object.__setattr__(new, "__pydantic_fields_set__", record.__pydantic_fields_set__.copy())
    object.__setattr__(new, "__pydantic_extra__", None if extra is None else extra.copy())
    object.__setattr__(new, "__pydantic_private__", None if private is None else private.copy())
    return new


def _handout(record: M, shared: bool | None = None) -> M:
    """What a caller may keep: ``record`` itself when its model is frozen (``shared``,
    when the caller already knows), else a shallow copy."""
    if shared is None:
        shared = bool(record.model_config.get("frozen"))
    return record if shared else shallow_copy(record)


class DecodedCache(Generic[M]):
    """Recently decoded records by a key that changes whenever the record does.

    A frozen model (Asset) is handed out as the cached instance itself: nothing can
    change it, and a dense radius query skips a copy per record. Other models come
    back as shallow copies: reassigning a field is safe, nested parts are shared and
    must not be mutated in place. Oldest entries go first once ``capacity`` is
    reached; a capacity of 0 turns caching off. Safe to share between threads.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        # Not a plain dict: deleting its oldest key leaves a hole at the front that every
        # later `next(iter(...))` steps over, until the dict next resizes. A full cache
        # of 4,096 or 8,192 listings spent 8.6-10.5 us a put that way (half as much as
        # decoding the listing); popitem(last=False) takes 3.3-4.0.
        self._items: OrderedDict[Hashable, M] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> M | None:
        hit = self._items.get(key)
        return None if hit is None else _handout(hit)

    def put(self, key: Hashable, record: M) -> M:
        """Remember ``record``; returns what the caller may keep."""
        if self.capacity <= 0:
            return record
        with self._lock:  # writers only; a get is a single atomic dict look-up
            self._items[key] = record
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return _handout(record)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def decode_all(self, model: type[M], docs: Iterable[str]) -> list[M]:
        """``decode`` for each document, keyed by its text: what a radius query returns
        hundreds of, so the per-document bookkeeping is done once here."""
        items, put = self._items, self.put
        shared = bool(model.model_config.get("frozen"))
        out: list[M] = []
        for doc in docs:
            hit = items.get(doc)
            if hit is None:
                out.append(put(doc, decode(model, doc)))
            else:
                out.append(_handout(hit, shared))
        return out

    def decode(self, model: type[M], doc: str) -> M:
        """``doc`` decoded, from the cache when its text is known."""
        return self.decode_all(model, [doc])[0]
