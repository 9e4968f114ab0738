"""The next-activity model: counts updated in place, back-off, chronological evaluation."""

from __future__ import annotations

import random

import pytest

from service.recommend.nextaction import END, CaseSequence, NextActivityModel, evaluate


def process(rng: random.Random) -> tuple[str, ...]:
    """A -> B -> (C 70 % | D 30 %) -> E; after D, F comes first half the time."""
    middle = ("C",) if rng.random() < 0.7 else (("D", "F") if rng.random() < 0.5 else ("D",))
    return ("A", "B", *middle, "E")


def test_the_model_recovers_a_known_process() -> None:
    rng = random.Random(7)
    model = NextActivityModel().fit(process(rng) for _ in range(3000))
    after_b = {p["activity"]: p["probability"] for p in model.predict(["A", "B"], k=3)}
    assert after_b["C"] == pytest.approx(0.7, abs=0.03)
    assert after_b["D"] == pytest.approx(0.3, abs=0.03)
    assert model.predict([], k=1)[0]["activity"] == "A"
    assert model.predict(["A"], k=1)[0]["activity"] == "B"
    assert model.predict(["A", "B", "C"], k=1)[0]["activity"] == "E"
    after_d = model.predict(["A", "B", "D"], k=2)
    assert {p["activity"] for p in after_d} == {"E", "F"}
    assert after_d[0]["support"] > 500


def test_update_adds_one_observation_without_retraining() -> None:
    model = NextActivityModel().fit([("A", "B", "C")] * 3)
    assert model.predict(["A", "B"], k=1)[0]["activity"] == "C"
    for _ in range(5):
        model.update(["A", "B"], "X")
    assert model.observations == 3 * 3 + 5
    top = model.predict(["A", "B"], k=2)
    assert top[0]["activity"] == "X" and top[0]["support"] == 8
    assert sum(p["probability"] for p in model.predict(["A", "B"], k=10)) == pytest.approx(
        1, abs=1e-5
    )


def test_an_unseen_context_backs_off_to_shorter_ones() -> None:
    model = NextActivityModel().fit([("A", "B", "C"), ("Q", "B", "C")])
    # (Z, B) never seen: the order-1 context B still says C.
    assert model.predict(["Z", "B"], k=1)[0]["activity"] == "C"
    assert NextActivityModel().predict(["A"]) == []


def test_evaluation_trains_on_earlier_cases_and_scores_every_prefix() -> None:
    rng = random.Random(3)
    cases = [CaseSequence(f"c{i}", process(rng)) for i in range(1000)]
    result = evaluate(cases, split=0.8)
    assert (result.train_cases, result.test_cases) == (800, 200)
    assert result.predictions == sum(len(c.activities) - 1 for c in cases[800:])
    # A->B and ->E are certain; after B the best guess (C) is right 70 % of the time.
    assert result.top1 > 0.85
    assert result.top3 == pytest.approx(1.0)
    with pytest.raises(ValueError, match="split"):
        evaluate(cases, split=1.0)


def test_with_the_end_the_model_learns_when_a_case_is_closed() -> None:
    closed = [
        CaseSequence(f"c{n}", ("registered", "assessed", "paid"), closed=True) for n in range(10)
    ]
    without = evaluate(closed, split=0.8)
    ended = evaluate(closed, split=0.8, end=True)
    assert without.predictions == 2 * 2  # two test cases, two prefixes each
    assert ended.predictions == 2 * 3  # and the end after "paid"
    assert ended.top1 == 1.0
    model = NextActivityModel().fit(c.ended() for c in closed)
    assert model.predict(("registered", "assessed", "paid"), k=1)[0]["activity"] == END
    open_case = CaseSequence("o", ("registered",), closed=False)
    assert open_case.ended() == ("registered",)  # an open case has not ended


def test_after_an_activity_never_followed_by_anything_nothing_is_predicted() -> None:
    # "reopened" was seen only as the last activity of a case: nothing learnt follows it.
    model = NextActivityModel().fit([("registered", "assessed", "paid")] * 50 + [("reopened",)])
    assert model.predict(["registered", "reopened"], k=3) == []
    assert model.predict(["never-seen"], k=3) == []
    guesses = model.predict(["registered", "reopened"], k=2, fallback=True)
    assert [g["activity"] for g in guesses] == ["assessed", "paid"]  # the overall frequencies
    assert all(g["fallback"] and g["support"] == 0 for g in guesses)
    # a learnt step cites the case histories behind it, and is no fallback
    learnt = model.predict(["registered"], k=1)[0]
    assert learnt["activity"] == "assessed" and learnt["support"] == 50
    assert not learnt["fallback"]


def test_the_evaluation_scores_the_fallback_and_counts_it_apart() -> None:
    cases = [CaseSequence(f"c{n}", ("a", "b", "c")) for n in range(8)]
    cases += [CaseSequence("t0", ("a", "b", "c")), CaseSequence("t1", ("x", "a"))]
    result = evaluate(cases, split=0.8)
    assert result.predictions == 2 + 1
    assert result.fallbacks == 1  # after "x", never seen in training
    assert result.top1 == 1.0  # the overall likeliest after "x" (a) is scored, and right
    assert result.to_dict()["fallbacks"] == 1
