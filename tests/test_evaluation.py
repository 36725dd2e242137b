"""NDCG@k and recall@k against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from geo_assets.evaluation import dcg, mean, ndcg_at_k, recall_at_k

# Judged: a and c are great fits (2), b is fine (1). x and y were not judged (0).
RELEVANCE = {"a": 2, "b": 1, "c": 2}


def test_dcg_by_hand() -> None:
    # 2/log2(2) + 0/log2(3) + 1/log2(4) = 2 + 0 + 0.5
    assert dcg([2, 0, 1]) == pytest.approx(2.5)
    assert dcg([]) == 0.0


def test_ndcg_by_hand() -> None:
    # DCG@3 of [a, x, b] = 2 + 0 + 1/2 = 2.5
    # IDCG@3 from the judged grades [2, 2, 1] = 2 + 2/log2(3) + 1/2 = 3.76186...
    expected = 2.5 / (2 + 2 / math.log2(3) + 0.5)
    assert expected == pytest.approx(0.66457, abs=1e-5)
    assert ndcg_at_k(["a", "x", "b"], RELEVANCE, k=3) == pytest.approx(expected)


def test_ndcg_cutoff_and_ideal_order() -> None:
    assert ndcg_at_k(["a", "c", "b"], RELEVANCE, k=3) == pytest.approx(1.0)
    assert ndcg_at_k(["c", "a", "b", "x"], RELEVANCE, k=10) == pytest.approx(1.0)
    # k=1: only the first item counts; the ideal first item has gain 2.
    assert ndcg_at_k(["b", "a"], RELEVANCE, k=1) == pytest.approx(0.5)
    # Nothing relevant retrieved.
    assert ndcg_at_k(["x", "y"], RELEVANCE, k=10) == 0.0
    # The ideal is cut at k too: with k=2 it is [2, 2].
    assert ndcg_at_k(["a", "b"], RELEVANCE, k=2) == pytest.approx(
        (2 + 1 / math.log2(3)) / (2 + 2 / math.log2(3))
    )


def test_repeated_ids_earn_gain_once() -> None:
    # [a, a, b]: the second a is worth nothing; b stays at rank 3 -> same as [a, x, b].
    assert ndcg_at_k(["a", "a", "b"], RELEVANCE, k=3) == pytest.approx(
        2.5 / (2 + 2 / math.log2(3) + 0.5)
    )
    assert ndcg_at_k(["a", "a", "a"], RELEVANCE, k=3) == pytest.approx(
        2 / (2 + 2 / math.log2(3) + 0.5)
    )
    assert recall_at_k(["a", "a", "a"], RELEVANCE, k=3) == pytest.approx(1 / 3)


def test_recall_by_hand() -> None:
    assert recall_at_k(["a", "x", "b"], RELEVANCE, k=3) == pytest.approx(2 / 3)
    assert recall_at_k(["a", "x", "b"], RELEVANCE, k=2) == pytest.approx(1 / 3)
    assert recall_at_k(["c", "b", "a"], RELEVANCE, k=10) == 1.0


def test_undefined_inputs_raise() -> None:
    with pytest.raises(ValueError, match="`k`"):
        ndcg_at_k(["a"], RELEVANCE, k=0)
    with pytest.raises(ValueError, match="no positive grades"):
        ndcg_at_k(["a"], {"a": 0}, k=5)
    with pytest.raises(ValueError, match="no positive grades"):
        recall_at_k(["a"], {}, k=5)
    with pytest.raises(ValueError, match="no values"):
        mean([])


def test_mean() -> None:
    assert mean([0.5, 1.0, 0.0]) == pytest.approx(0.5)
