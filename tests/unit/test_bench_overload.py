"""The overload bench judges 2x on the median of its rounds, each against the capacity run just
before it, and its admitted p99 on the worst round: one unlucky capacity run neither passes nor
fails the level, and one slow round still fails it."""

from __future__ import annotations

from bench.overload import GOODPUT_TARGET, Level, Paired, rows
from bench.report import Row


def level(offered: float, answered: int, shed: int, p99_ms: float = 50.0) -> Level:
    """A level of ten seconds whose admitted answers all took 50 ms but the slowest 2%."""
    slow = max(1, answered // 50)
    admitted = [50.0] * (answered - slow) + [p99_ms] * slow
    return Level(offered, 10.0, {200: answered, 503: shed}, admitted, [5.0], [5.0], 8.0, 3.0,
                 (1.0,), (5.0,), (6.0,))  # fmt: skip


def pair(multiple: int, capacity: int, answered: int, p99_ms: float = 50.0) -> Paired:
    closed = level(0.0, capacity * 10, 0)
    offered = capacity * multiple
    return Paired(
        multiple, closed, level(offered, answered * 10, (offered - answered) * 10, p99_ms)
    )


def row(table: list[Row], starts: str, about: str) -> Row:
    return next(
        each for each in table if each.measurement.startswith(starts) and about in each.measurement
    )


def test_2x_is_judged_on_its_median_round_against_each_rounds_own_capacity() -> None:
    pairs = [
        pair(1, 2500, 2100),
        pair(2, 3000, 1500),  # 50%: an unlucky round
        pair(2, 2500, 2150),  # 86%: the median
        pair(2, 2000, 1900),  # 95%: a capacity run measured low
        pair(4, 2500, 1500),
    ]
    judged = row(rows(pairs), "overload 2x", "goodput")
    assert judged.ratio == "86%" and judged.met is (0.86 >= GOODPUT_TARGET)
    assert "rounds 50%, 86%, 95%" in judged.value
    assert judged.measurement.startswith(
        "overload 2x (5,000/s offered)"
    )  # the median round's offer


def test_one_round_over_the_p99_bound_fails_the_level() -> None:
    fine = [pair(2, 2500, 2200), pair(2, 2500, 2200)]
    slow = pair(2, 2500, 2200, p99_ms=1500.0)
    latency = row(rows([*fine, slow]), "overload 2x", "admitted p50 / p99")
    assert latency.met is False and "1,500 ms" in latency.value
    assert row(rows(fine), "overload 2x", "admitted p50 / p99").met is True
