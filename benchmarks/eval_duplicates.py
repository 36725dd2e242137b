"""Duplicate detection quality on the demo sample with 200 planted duplicates (issue 5).

The planted duplicates copy randomly chosen published/pending sample listings the way
a second source would list them again:

- renamed with one or two of: a typo (a letter dropped, doubled, swapped or mistyped),
  another word order ("Tuesday Knit, Shipley" -> "Shipley Tuesday Knit"), "&" for
  "and" or back, an abbreviation ("Community" -> "Comm.", "Centre" -> "Ctr",
  "Football Club" -> "FC"), a generic word added or dropped ("Group", "The"), or
  another letter case;
- moved by up to 100 m in a random direction;
- sessions shifted by up to 30 minutes (start and end alike);
- now and then filed under the broader category or as another kind (club for group).

Beside them it plants 100 pairs of look-alikes that are not duplicates: two listings
copied from one sample listing, side by side and meeting at the same times, whose names
say they are for different people ("Ladies' Darts" / "Men's Darts", "Junior ..." /
"Senior ...", "... (Under 11s)" / "... (Under 12s)", "1st ..." / "2nd ..."); half of the
women/men and girls/boys pairs also say so in their eligibility.

It loads the sample and the copies into a throwaway SQLite store, runs
``geo_assets.duplicates.find_duplicates`` at the default threshold and prints
precision (reported pairs that are planted ones) and recall (planted pairs reported),
and how many look-alike pairs were reported (target 0). Every other pair counts as
wrong, even where the sample itself has look-alikes, except a look-alike paired with
the listing it was copied from (or that listing's planted duplicate): whether "Junior
Chess" repeats "Chess Club" is anyone's guess, so such pairs are not scored.

    .venv/bin/python benchmarks/eval_duplicates.py [--seed N] [--min-score 0.8] [--show 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from geo_assets.duplicates import DEFAULT_MIN_SCORE, DuplicatePair, find_duplicates
from geo_assets.geodesy import WGS84
from geo_assets.model import Asset
from geo_assets.sample import load_sample, read_sample
from geo_assets.store import open_store
from geo_assets.taxonomy import default_taxonomy

PLANTED = 200
LOOKALIKES = 100
SEED = 5
MAX_MOVE_M = 100.0
MAX_SHIFT_MINUTES = 30
PLANTED_SOURCE = "planted"
LOOKALIKE_SOURCE = "lookalike"
_NAMESPACE = uuid.UUID("3b0f4a8e-93c1-4b8e-a1f7-5c2d9e6b7a10")

# Abbreviations people write (full form -> short form); applied one at a time.
ABBREVIATIONS = (
    ("University of the Third Age", "U3A"),
    ("Working Men's Club", "WMC"),
    ("Football Club", "FC"),
    ("Community", "Comm."),
    ("Centre", "Ctr"),
    ("Association", "Assoc."),
    ("Society", "Soc."),
    ("Saint", "St"),
    ("Street", "St"),
    ("Road", "Rd"),
    ("Lane", "Ln"),
    ("Group", "Grp"),
    ("Church", "Ch."),
    ("Methodist", "Meth."),
)
_KEYBOARD = {
    "a": "qsz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


def _typo(name: str, rng: np.random.Generator) -> str:
    words = name.split(" ")
    long_words = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    if not long_words:
        return name
    i = long_words[int(rng.integers(len(long_words)))]
    w = words[i]
    k = int(rng.integers(1, len(w) - 1))
    kind = int(rng.integers(4))
    if kind == 0:  # a letter dropped
        w = w[:k] + w[k + 1 :]
    elif kind == 1:  # a letter doubled
        w = w[:k] + w[k] + w[k:]
    elif kind == 2:  # two letters swapped
        w = w[: k - 1] + w[k] + w[k - 1] + w[k + 1 :]
    else:  # a neighbouring key
        near = _KEYBOARD.get(w[k].lower(), "e")
        w = w[:k] + near[int(rng.integers(len(near)))] + w[k + 1 :]
    words[i] = w
    return " ".join(words)


def _reorder(name: str, rng: np.random.Generator) -> str:
    if ", " in name:
        head, _, place = name.rpartition(", ")
        return f"{place} {head}"
    words = name.split(" ")
    if len(words) < 2:
        return name
    if rng.random() < 0.5:
        return " ".join(words[1:] + words[:1])
    i = int(rng.integers(len(words) - 1))
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _ampersand(name: str, rng: np.random.Generator) -> str:
    if " and " in name:
        return name.replace(" and ", " & ", 1)
    if " & " in name:
        return name.replace(" & ", " and ", 1)
    return _abbreviate(name, rng)


def _abbreviate(name: str, rng: np.random.Generator) -> str:
    options = [(full, short) for full, short in ABBREVIATIONS if full in name]
    if not options:
        return _generic(name, rng)
    full, short = options[int(rng.integers(len(options)))]
    return name.replace(full, short, 1)


def _generic(name: str, rng: np.random.Generator) -> str:
    for word in (" Group", " Club", " Sessions"):
        if name.endswith(word):
            return name.removesuffix(word)
    if name.startswith("The "):
        return name.removeprefix("The ")
    return f"The {name}" if rng.random() < 0.3 else f"{name} Group"


def _case(name: str, rng: np.random.Generator) -> str:
    return name.upper() if rng.random() < 0.5 else name.lower()


_MUTATIONS = (_typo, _reorder, _ampersand, _abbreviate, _generic, _case)
_MUTATION_P = np.array([0.35, 0.2, 0.1, 0.2, 0.1, 0.05])


def rename(name: str, rng: np.random.Generator) -> str:
    """One or two random changes of the kinds listed in the module notes; never the same."""
    out = name
    for _ in range(1 if rng.random() < 0.6 else 2):
        mutation = _MUTATIONS[int(rng.choice(len(_MUTATIONS), p=_MUTATION_P))]
        out = mutation(out, rng)
    return out if out != name else _typo(name + " Group", rng)


def _shift(session: dict[str, Any], minutes: int) -> dict[str, Any]:
    day = datetime(2026, 1, 1)
    start = datetime.combine(day, datetime.strptime(session["start"], "%H:%M:%S").time())
    end = datetime.combine(day, datetime.strptime(session["end"], "%H:%M:%S").time())
    start, end = start + timedelta(minutes=minutes), end + timedelta(minutes=minutes)
    if start.date() != day.date() or end.date() != day.date():  # would cross midnight
        start, end = start - timedelta(minutes=minutes), end - timedelta(minutes=minutes)
    return {**session, "start": start.time().isoformat(), "end": end.time().isoformat()}


def plant_duplicates(
    assets: list[Asset], *, n: int = PLANTED, seed: int = SEED
) -> tuple[list[Asset], set[frozenset[str]]]:
    """``n`` copies of distinct published/pending ``assets``, changed as described above;
    returns the copies and the true pairs (original id, copy id)."""
    rng = np.random.default_rng(seed)
    taxonomy = default_taxonomy()
    live = [a for a in assets if a.status in ("published", "pending")]
    chosen = rng.choice(len(live), size=n, replace=False)
    copies, truth = [], set()
    for k, index in enumerate(chosen.tolist()):
        original = live[index]
        doc = original.model_dump(mode="json", exclude={"created_at", "updated_at", "version"})
        bearing = float(rng.uniform(0, 360))
        moved_m = float(rng.uniform(0, MAX_MOVE_M))
        lon, lat, _ = WGS84.fwd(original.location.lon, original.location.lat, bearing, moved_m)
        shift = int(rng.integers(-MAX_SHIFT_MINUTES // 5, MAX_SHIFT_MINUTES // 5 + 1)) * 5
        doc.update(
            id=uuid.uuid5(_NAMESPACE, f"{seed}:{k}").hex,
            name=rename(original.name, rng),
            source=PLANTED_SOURCE,
            source_id=f"dup-{k + 1:04d}",
            status="published",
            venue_id=None,
            sessions=[_shift(s, shift) for s in doc["sessions"]],
        )
        doc["location"] = {
            **doc["location"],
            "lat": round(float(lat), 6),
            "lon": round(float(lon), 6),
        }
        parent = taxonomy.get(original.categories[0]).parent_id
        if parent is not None and rng.random() < 0.15:
            doc["categories"] = [parent]
        if original.kind in ("group", "club") and rng.random() < 0.2:
            doc["kind"] = "club" if original.kind == "group" else "group"
        if rng.random() < 0.3:
            doc["description"] = ""
        copy = Asset.model_validate(doc)
        copies.append(copy)
        truth.add(frozenset((original.id, copy.id)))
    return copies, truth


# Names of two listings for different people; "{}" is the copied listing's name, and the
# eligibility either may state ("gender", or "ages" as (min, max) for each).
_SIBLINGS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("Ladies' {}", "Men's {}", {"gender": ("women", "men")}),
    ("Junior {}", "Senior {}", {}),
    ("{} for Beginners", "{} for Improvers", {}),
    ("{} (Under 11s)", "{} (Under 12s)", {"ages": ((9, 10), (10, 11))}),
    ("1st {}", "2nd {}", {}),
    ("Girls' {}", "Boys' {}", {"gender": ("women", "men")}),
    ("Young People's {}", "Older People's {}", {"ages": ((13, 25), (60, None))}),
    ("{} - Over 50s", "{} - Over 60s", {}),
)


def _sibling(doc: dict[str, Any], name: str, ident: str, source_id: str) -> Asset:
    return Asset.model_validate(
        {**doc, "id": ident, "name": name, "source": LOOKALIKE_SOURCE, "source_id": source_id}
    )


def plant_lookalikes(
    assets: list[Asset], *, n: int = LOOKALIKES, seed: int = SEED
) -> tuple[list[Asset], set[frozenset[str]]]:
    """``n`` pairs of listings for different people (see the module notes), each pair
    copied from one published/pending listing and standing within 20 m of it; returns the
    copies and the pairs (first id, second id)."""
    rng = np.random.default_rng(seed + 1)
    live = [a for a in assets if a.status in ("published", "pending")]
    copies, pairs = [], set()
    for k, index in enumerate(rng.choice(len(live), size=n, replace=False).tolist()):
        original = live[index]
        first, second, eligibility = _SIBLINGS[k % len(_SIBLINGS)]
        doc = original.model_dump(mode="json", exclude={"created_at", "updated_at", "version"})
        doc.update(status="published", venue_id=None, description="")
        twins = []
        for side, pattern in enumerate((first, second)):
            lon, lat, _ = WGS84.fwd(
                original.location.lon, original.location.lat, float(rng.uniform(0, 360)), 10.0
            )
            stated = dict(doc["eligibility"])
            if k % 2 == 0 and "gender" in eligibility:
                stated["gender"] = eligibility["gender"][side]
            if k % 2 == 0 and "ages" in eligibility:
                stated["min_age"], stated["max_age"] = eligibility["ages"][side]
            twin = {
                **doc,
                "eligibility": stated,
                "location": {**doc["location"], "lat": round(lat, 6), "lon": round(lon, 6)},
            }
            name = pattern.format(original.name)
            ident = uuid.uuid5(_NAMESPACE, f"lookalike:{seed}:{k}:{side}").hex
            twins.append(_sibling(twin, name, ident, f"look-{k + 1:04d}-{side}"))
        copies += twins
        pairs.add(frozenset(t.id for t in twins))
    return copies, pairs


@dataclass(frozen=True)
class Result:
    precision: float
    recall: float
    reported: int
    correct: int
    planted: int
    seconds: float
    wrong: list[DuplicatePair]
    missed: list[tuple[str, str]]
    lookalikes: int
    lookalikes_reported: list[DuplicatePair]


def evaluate(*, seed: int = SEED, min_score: float = DEFAULT_MIN_SCORE) -> Result:
    """Load sample + planted copies into a throwaway SQLite store and score the detector."""
    _, sample_assets = read_sample()
    originals = list(sample_assets)
    copies, truth = plant_duplicates(originals, seed=seed)
    siblings, lookalikes = plant_lookalikes(originals, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'dups.sqlite'}")
        try:
            store.upgrade()
            load_sample(store)
            store.bulk_upsert([*copies, *siblings])
            started = time.perf_counter()
            pairs = find_duplicates(store, min_score=min_score)
            seconds = time.perf_counter() - started
        finally:
            store.close()
    sibling_ids = {a.id for a in siblings}
    # A look-alike paired with anything but its twin is not scored (see the notes).
    scored = [p for p in pairs if len(sibling_ids & set(p.ids)) != 1]
    found = {frozenset(p.ids) for p in scored}
    correct = len(found & truth)
    by_id = {a.id: a for a in [*originals, *copies]}
    missed = [tuple(by_id[i].name for i in sorted(pair)) for pair in truth - found]
    return Result(
        precision=correct / len(found) if found else 1.0,
        recall=correct / len(truth),
        reported=len(found),
        correct=correct,
        planted=len(truth),
        seconds=seconds,
        wrong=[p for p in scored if frozenset(p.ids) not in truth | lookalikes],
        missed=missed,  # type: ignore[arg-type]
        lookalikes=len(lookalikes),
        lookalikes_reported=[p for p in scored if frozenset(p.ids) in lookalikes],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE)
    parser.add_argument("--show", type=int, default=0, help="print this many misses/mistakes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    r = evaluate(seed=args.seed, min_score=args.min_score)
    if args.json:
        keys = ("precision", "recall", "reported", "correct", "planted", "seconds", "lookalikes")
        out = {k: getattr(r, k) for k in keys}
        print(json.dumps(out | {"lookalikes_reported": len(r.lookalikes_reported)}))
        return 0
    print(f"duplicates: {r.planted} planted among the demo sample, threshold {args.min_score}")
    print(f"  reported {r.reported} pair(s), {r.correct} planted ({r.seconds:.2f} s)")
    print(f"  precision {r.precision:.3f}   recall {r.recall:.3f}   (targets >= 0.9 both)")
    print(
        f"  look-alikes for different people: {len(r.lookalikes_reported)} of"
        f" {r.lookalikes} pairs reported (target 0)"
    )
    for pair in r.lookalikes_reported[: args.show]:
        print(f"  look-alike reported: {pair.a.name!r} / {pair.b.name!r} ({pair.score:.2f})")
    for pair in r.wrong[: args.show]:
        print(
            f"  wrong: {pair.a.name!r} / {pair.b.name!r}: {'; '.join(pair.reasons)}"
            f" ({pair.score:.2f})"
        )
    for a, b in r.missed[: args.show]:
        print(f"  missed: {a!r} / {b!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
