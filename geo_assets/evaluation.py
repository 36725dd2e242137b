"""Ranking quality measures for judged result lists: NDCG@k and recall@k.

A judgement maps an asset id to a graded relevance (here 2 = great fit, 1 = fine);
ids that are not judged count as 0. Both measures look only at the first ``k``
items of a ranked list; an id repeated in the list earns its grade only the first
time (the repeat keeps its rank but gains 0), so a ranker cannot score twice for
one asset.

NDCG follows Järvelin & Kekäläinen (2002), "Cumulated gain-based evaluation of IR
techniques", with the grade used directly as the gain and the standard log2 discount:

    DCG@k  = sum_{i=1..k} rel_i / log2(i + 1)
    IDCG@k = DCG@k of the judged grades sorted from best to worst
    NDCG@k = DCG@k / IDCG@k
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice

__all__ = ["dcg", "mean", "ndcg_at_k", "recall_at_k"]


def _check_k(k: int) -> int:
    if k < 1:
        raise ValueError(f"`k` must be 1 or more, not {k!r}")
    return k


def _gains_at_k(ranked_ids: Iterable[str], relevance: Mapping[str, float], k: int) -> list[float]:
    """Gain at each of the first ``k`` ranks; a repeated id gains 0 but keeps its rank."""
    seen: set[str] = set()
    gains: list[float] = []
    for asset_id in ranked_ids:
        if len(gains) >= k:
            break
        gains.append(0.0 if asset_id in seen else max(0.0, float(relevance.get(asset_id, 0))))
        seen.add(asset_id)
    return gains


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains listed in rank order (rank 1 first)."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranked_ids: Iterable[str], relevance: Mapping[str, float], k: int = 10) -> float:
    """Normalised DCG of the first ``k`` ranked ids against graded ``relevance``.

    Parameters
    ----------
    ranked_ids
        Result ids, best first.
    relevance
        Judged grades (> 0) by id; ids not in it have grade 0.
    k
        Cut-off rank.

    Returns
    -------
    float
        In [0, 1]; 1 when the list puts the judged items in best-grade-first order.

    Raises
    ------
    ValueError
        If ``k`` < 1 or no judged id has a positive grade (the ideal DCG would be 0).
    """
    _check_k(k)
    ideal = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    idcg = dcg(ideal)
    if idcg <= 0:
        raise ValueError("`relevance` has no positive grades, so NDCG is undefined")
    return dcg(_gains_at_k(ranked_ids, relevance, k)) / idcg


def recall_at_k(ranked_ids: Iterable[str], relevance: Mapping[str, float], k: int = 10) -> float:
    """Share of the judged relevant ids (grade > 0) that appear in the first ``k`` results.

    Raises ``ValueError`` if ``k`` < 1 or nothing is judged relevant.
    """
    _check_k(k)
    relevant = {i for i, g in relevance.items() if g > 0}
    if not relevant:
        raise ValueError("`relevance` has no positive grades, so recall is undefined")
    found = relevant.intersection(islice(ranked_ids, k))
    return len(found) / len(relevant)


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; raises ``ValueError`` on an empty input rather than returning nan."""
    items = list(values)
    if not items:
        raise ValueError("mean of no values")
    return sum(items) / len(items)
