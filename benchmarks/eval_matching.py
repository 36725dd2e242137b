"""Matching quality on the hand-judged evaluation set (issue 3): engine vs nearest-first.

The set lives in ``tests/eval/``: ``assets.json`` (hand-written listings in Bradford,
West Yorkshire) and ``personas.json`` (people described as a practitioner would, each
with the assets judged relevant: 2 = great fit, 1 = fine). The judgements were made
from the stories and listings alone, never from any ranker's output.

For every persona this loads the assets into a throwaway SQLite store and ranks them
two ways:

- engine: ``geo_assets.matching.match(store, profile, limit=10, now=NOW)``;
- baseline: what a directory does today, the 10 nearest published assets within the
  largest straight-line reach of the person's travel options
  (``StraightLineTravel().reach_m(mode, max_minutes)``, max over options).

It prints NDCG@10 and recall@10 per persona and their means, for both and the
difference (see ``geo_assets.evaluation``).

    .venv/bin/python benchmarks/eval_matching.py [--show p07] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo_assets.evaluation import mean, ndcg_at_k, recall_at_k
from geo_assets.model import Profile
from geo_assets.store import AssetFilters, Store, open_store
from geo_assets.travel import StraightLineTravel

EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "eval"
# A Monday morning: "next session" dates in explanations are computed from here.
NOW = datetime(2026, 11, 2, 9, 0)
K = 10


def load_eval_set(eval_dir: Path = EVAL_DIR) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The raw asset records and personas (JSON lists) of the evaluation set."""
    assets = json.loads((eval_dir / "assets.json").read_text(encoding="utf-8"))
    personas = json.loads((eval_dir / "personas.json").read_text(encoding="utf-8"))
    return assets, personas


def engine_ids(store: Store, profile: Profile, k: int = K) -> list[str]:
    from geo_assets.matching import match

    return [m.asset.id for m in match(store, profile, limit=k, now=NOW)]


def baseline_ids(store: Store, profile: Profile, k: int = K) -> list[str]:
    """Nearest first: published assets within the largest straight-line reach radius."""
    travel = StraightLineTravel()
    radius_m = max(travel.reach_m(t.mode, t.max_minutes) for t in profile.travel)
    hits = store.nearby(
        profile.origin.lat,
        profile.origin.lon,
        radius_m,
        AssetFilters(statuses=["published"]),
        limit=k,
    )
    return [h.asset.id for h in hits]


def _scores(ranked: Sequence[str], relevant: dict[str, int]) -> dict[str, float]:
    return {"ndcg": ndcg_at_k(ranked, relevant, K), "recall": recall_at_k(ranked, relevant, K)}


def evaluate(eval_dir: Path = EVAL_DIR) -> dict[str, Any]:
    """Run engine and baseline over every persona.

    Returns ``{"k", "personas": [{id, relevant, engine: {ids, ndcg, recall},
    baseline: {...}}], "engine": {ndcg, recall}, "baseline": {ndcg, recall},
    "difference": {ndcg, recall}}`` with means over personas.
    """
    assets, personas = load_eval_set(eval_dir)
    with tempfile.TemporaryDirectory(prefix="geo_assets_eval_") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'eval.sqlite'}")
        try:
            store.upgrade()
            store.bulk_upsert(assets)
            rows = []
            for persona in personas:
                profile = Profile.model_validate(persona["profile"])
                relevant = persona["relevant"]
                eng = engine_ids(store, profile)
                base = baseline_ids(store, profile)
                rows.append(
                    {
                        "id": persona["id"],
                        "relevant": relevant,
                        "engine": {"ids": eng, **_scores(eng, relevant)},
                        "baseline": {"ids": base, **_scores(base, relevant)},
                    }
                )
        finally:
            store.close()
    summary: dict[str, Any] = {"k": K, "personas": rows}
    for side in ("engine", "baseline"):
        summary[side] = {m: mean(r[side][m] for r in rows) for m in ("ndcg", "recall")}
    summary["difference"] = {
        m: summary["engine"][m] - summary["baseline"][m] for m in ("ndcg", "recall")
    }
    return summary


def print_report(summary: dict[str, Any], show: Sequence[str] = ()) -> None:
    k = summary["k"]
    print(f"{'persona':8} {'engine':>16} {'baseline':>16}   (NDCG@{k} / recall@{k})")
    for row in summary["personas"]:
        e, b = row["engine"], row["baseline"]
        print(
            f"{row['id']:8} {e['ndcg']:8.3f} {e['recall']:7.2f} {b['ndcg']:8.3f} {b['recall']:7.2f}"
        )
    e, b, d = summary["engine"], summary["baseline"], summary["difference"]
    print(f"{'mean':8} {e['ndcg']:8.3f} {e['recall']:7.2f} {b['ndcg']:8.3f} {b['recall']:7.2f}")
    print(
        f"engine - baseline: NDCG@{k} {d['ndcg']:+.3f}, recall@{k} {d['recall']:+.3f} "
        f"over {len(summary['personas'])} personas"
    )
    for row in summary["personas"]:
        if row["id"] not in show:
            continue
        print(f"\n{row['id']}: judged {row['relevant']}")
        for side in ("engine", "baseline"):
            marked = [f"{i}({row['relevant'].get(i, 0)})" for i in row[side]["ids"]]
            print(f"  {side:8} {' '.join(marked)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--show",
        action="append",
        default=[],
        metavar="PERSONA",
        help="also list both rankings for this persona id (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    summary = evaluate()
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print_report(summary, show=args.show)


if __name__ == "__main__":
    main()
