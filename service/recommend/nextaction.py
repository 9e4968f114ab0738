"""The next activity of a case, learnt from event sequences: a variable-order Markov model.

Counts of "activity after context" are kept for every context of length 0 up to ``order`` (the
case start is a context item of its own), so ``update`` adds one observation in constant time
and the model never needs retraining. ``predict`` blends the orders with Witten-Bell smoothing:
the longest context seen gets most of the weight, and backs off to the shorter ones in
proportion to how many different activities have followed it, so a context seen once does not
claim certainty. After an activity the model has never seen followed by anything (its context
of one is unseen), nothing learnt speaks for any next activity: ``predict`` gives none, or with
``fallback`` the overall frequencies marked ``fallback`` with no case histories behind them.

``evaluate`` splits cases chronologically by their start (train on the earlier-started cases,
test on the later ones; no case in both) and scores top-1 and top-3 accuracy over every prefix
of the test cases. With ``end``, a closed case's history ends in ``END`` (the case was closed
after its last activity), so the model also learns, and is scored on, when a case ends: "close
the case" is a next action experts take too.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, LiteralString

from service.graph.db import Graph

START = "(start)"
END = "(end)"
DEFAULT_ORDER = 3

# Every case's events in time order, the cases in order of their first event (or opening).
SEQUENCES: LiteralString = """
MATCH (c:Case)
WHERE ($case_type IS NULL OR c.type = $case_type) AND c.id STARTS WITH $id_prefix
MATCH (e:Event)-[:IN_CASE]->(c)
WITH c, e ORDER BY e.at, coalesce(e.seq, 0), e.id
WITH c, collect(e.kind) AS kinds, min(e.at) AS first
RETURN c.id AS id, kinds, c.status = 'closed' AS closed
ORDER BY coalesce(first, c.opened_at), c.id
"""


@dataclass(frozen=True)
class CaseSequence:
    """One case's activities in time order."""

    case_id: str
    activities: tuple[str, ...]
    closed: bool = False

    def ended(self) -> tuple[str, ...]:
        """Give the activities, then END if the case is closed."""
        return (*self.activities, END) if self.closed else self.activities


@dataclass
class NextActivityModel:
    """Counts of what followed each context of up to ``order`` activities."""

    order: int = DEFAULT_ORDER
    counts: dict[tuple[str, ...], Counter[str]] = field(default_factory=dict)
    observations: int = 0

    def update(self, prefix: Sequence[str], activity: str) -> None:
        """Add one observation: ``activity`` came after ``prefix`` (the case's earlier ones)."""
        history = (START, *prefix)
        for n in range(min(self.order, len(history)) + 1):
            context = history[len(history) - n :]
            self.counts.setdefault(context, Counter())[activity] += 1
        self.observations += 1

    def fit(self, sequences: Iterable[Sequence[str]]) -> NextActivityModel:
        """Add every step of every sequence; give the model."""
        for sequence in sequences:
            for i, activity in enumerate(sequence):
                self.update(sequence[:i], activity)
        return self

    def probabilities(self, history: Sequence[str]) -> tuple[dict[str, float], int]:
        """Give P(next | history) for every activity seen, and the longest context's support.

        The support is how often the longest context seen (at least the last activity, or the
        case start) was followed by anything; 0 when it never was, the probabilities then being
        the overall frequencies of the activities.
        """
        unigram = self.counts.get(())
        if not unigram:
            return {}, 0
        total = sum(unigram.values())
        probs = {activity: count / total for activity, count in unigram.items()}
        support = 0
        full = (START, *history)
        for n in range(1, min(self.order, len(full)) + 1):
            seen = self.counts.get(full[len(full) - n :])
            if not seen:
                break  # a longer context containing an unseen one is unseen too
            count = sum(seen.values())
            types = len(seen)
            probs = {
                activity: (seen.get(activity, 0) + types * p) / (count + types)
                for activity, p in probs.items()
            }
            support = count
        return probs, support

    def predict(
        self, history: Sequence[str], k: int = 3, *, fallback: bool = False
    ) -> list[dict[str, Any]]:
        """Give the ``k`` likeliest next activities: {activity, probability, support, fallback}.

        After an activity never seen followed by anything, none; with ``fallback``, the overall
        likeliest activities, marked ``fallback`` (support 0: no case history backs them here).
        """
        probs, support = self.probabilities(history)
        if not support and not fallback:
            return []
        ranked = sorted(probs.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [
            {
                "activity": activity,
                "probability": round(p, 6),
                "support": support,
                "fallback": not support,
            }
            for activity, p in ranked
        ]


@dataclass(frozen=True)
class Evaluation:
    """How well the model trained on the earlier cases predicts the later ones."""

    train_cases: int
    test_cases: int
    predictions: int
    top1: float
    top3: float
    train_events: int
    seconds: float
    fallbacks: int = 0  # test predictions after an activity never seen followed by anything

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_cases": self.train_cases,
            "test_cases": self.test_cases,
            "predictions": self.predictions,
            "top1": self.top1,
            "top3": self.top3,
            "train_events": self.train_events,
            "seconds": self.seconds,
            "fallbacks": self.fallbacks,
        }


def load_sequences(
    graph: Graph, *, case_type: str | None = None, id_prefix: str = ""
) -> list[CaseSequence]:
    """Give every case's event kinds in time order, cases in order of their start."""
    rows = graph.read(SEQUENCES, case_type=case_type, id_prefix=id_prefix)
    return [CaseSequence(row["id"], tuple(row["kinds"]), bool(row["closed"])) for row in rows]


def train(
    graph: Graph, *, case_type: str | None = None, order: int = DEFAULT_ORDER, id_prefix: str = ""
) -> NextActivityModel:
    """Give a model that learnt every case history in the graph (of ``case_type`` if given)."""
    sequences = load_sequences(graph, case_type=case_type, id_prefix=id_prefix)
    return NextActivityModel(order).fit(s.activities for s in sequences)


def evaluate(
    source: Graph | Sequence[CaseSequence],
    *,
    split: float = 0.8,
    order: int = DEFAULT_ORDER,
    case_type: str | None = None,
    id_prefix: str = "",
    end: bool = False,
) -> Evaluation:
    """Train on the first ``split`` of the cases by start, score the rest at every prefix.

    ``source`` is the graph (its cases read in start order) or sequences already in that order.
    With ``end``, closed cases end in END: the model predicts the end of a case too.
    """
    if not 0 < split < 1:
        raise ValueError(f"split must be between 0 and 1, not {split}")
    if isinstance(source, Graph):
        sequences = load_sequences(source, case_type=case_type, id_prefix=id_prefix)
    else:
        sequences = list(source)
    began = time.perf_counter()
    cut = int(len(sequences) * split)
    train, test = sequences[:cut], sequences[cut:]
    model = NextActivityModel(order).fit(s.ended() if end else s.activities for s in train)
    hits1 = hits3 = predictions = fallbacks = 0
    for case in test:
        activities = case.ended() if end else case.activities
        for i in range(1, len(activities)):
            # scored with the overall frequencies where nothing was learnt, counted apart
            guesses = model.predict(activities[:i], k=3, fallback=True)
            fallbacks += bool(guesses) and guesses[0]["fallback"]
            top = [p["activity"] for p in guesses]
            actual = activities[i]
            predictions += 1
            hits1 += bool(top) and top[0] == actual
            hits3 += actual in top
    return Evaluation(
        train_cases=len(train),
        test_cases=len(test),
        predictions=predictions,
        top1=hits1 / predictions if predictions else 0.0,
        top3=hits3 / predictions if predictions else 0.0,
        train_events=model.observations,
        seconds=time.perf_counter() - began,
        fallbacks=fallbacks,
    )
