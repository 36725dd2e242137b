"""What the benchmarks share: fair turns between ours and the baseline, the speed line."""

from __future__ import annotations

import re

import pytest

from benchmarks.common import machine_speed, timed_pair_ms


def test_ours_and_the_bare_query_take_turns_at_going_first() -> None:
    order: list[str] = []
    for turn in range(4):
        ours_ms, bare_ms = timed_pair_ms(
            lambda: order.append("ours"), lambda: order.append("bare"), turn
        )
        assert ours_ms >= 0 and bare_ms >= 0
    assert order == ["ours", "bare", "bare", "ours", "ours", "bare", "bare", "ours"]


@pytest.mark.postgis
def test_the_machine_speed_line_times_python_and_the_database(postgis_db_url: str) -> None:
    line = machine_speed(postgis_db_url)
    figures = re.fullmatch(
        r"machine: decoding a [\d,]+-byte listing ([\d.]+) us;"
        r" PostgreSQL counting 1,000,000 generated rows ([\d.]+) ms",
        line,
    )
    assert figures is not None, line
    assert all(float(x) > 0 for x in figures.groups())
