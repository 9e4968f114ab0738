"""Replay logged decisions on a candidate ruleset and report what would change.

Pure: no Neo4j, no files. ``Replay`` takes logged decisions (as ``service/simulation``
reads them, or as tests make them) one at a time and evaluates each input on the candidate
with ``today`` set to the day the decision was made (UTC), so rules on dates behave as they
did then. The report counts

- decisions replayed and decisions whose outputs would change;
- per output field and (from -> to) value: how many, and up to ``EXAMPLES`` decision ids;
- rules (and table rows, ``table#row``) that would start or stop firing;
- inputs the candidate rejects (its schema changed): how many, examples, the first message;
- inputs on which the candidate fails to decide (chain limit, table conflict);
- the versions the replayed decisions were made by, and how many were made by a version other
  than the one being served (a change there may come from an earlier edit, not the candidate).

Throughput matters (``make bench``): the stored JSON is parsed with orjson, and nothing beyond
``Ruleset.evaluate`` and a comparison of the outputs is done per decision.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .errors import CasewiseError, DecisionError, InputError
from .model import Ruleset

EXAMPLES = 5


class SimulationError(CasewiseError):
    """The candidate cannot be simulated against these decisions (another ruleset, a playbook)."""

    code = "invalid-candidate"


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One decision from the log. ``input``, ``outputs`` and ``fired`` are JSON text as stored
    (or already parsed); ``fired`` is the list of ``{rule, values}``, or of rule ids."""

    id: str
    ruleset: str
    version: str
    input: str | bytes | dict[str, Any]
    outputs: str | bytes | dict[str, Any]
    fired: str | bytes | list[Any]
    at: dt.datetime


@dataclass
class _Group:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, decision_id: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(decision_id)


@dataclass
class Report:
    """What replaying the log on a candidate showed; ``to_dict`` is the JSON form."""

    ruleset: str
    candidate_version: str
    baseline_version: str | None
    replayed: int
    changed: int
    unchanged: int
    changes: list[dict[str, Any]]
    started_firing: list[dict[str, Any]]
    stopped_firing: list[dict[str, Any]]
    rejected: dict[str, Any]
    failed: dict[str, Any]
    versions: dict[str, int]
    other_versions: int
    first_at: str | None
    last_at: str | None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _load(value: str | bytes | Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _key(value: Any) -> str:
    """Give a value as canonical JSON text: how a changed value is grouped and shown."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


def _fired_ids(fired: Any) -> set[str]:
    return {f["rule"] if isinstance(f, dict) else str(f) for f in fired}


class Replay:
    """Replays decisions on ``candidate`` one by one (``add``), then gives the ``report``.

    ``baseline_version`` is the version being served now, if known: decisions made by any
    other version are counted as such.
    """

    def __init__(self, candidate: Ruleset, *, baseline_version: str | None = None) -> None:
        if candidate.kind != "ruleset":
            raise SimulationError(
                f"{candidate.path} is a {candidate.kind}, not a ruleset; playbooks are "
                "simulated against expert decisions (service.simulation.playbooks)"
            )
        self.candidate = candidate
        self.baseline = baseline_version
        self.replayed = 0
        self.changed = 0
        self.changes: dict[tuple[str, str, str], _Group] = {}
        self.started: dict[str, _Group] = {}
        self.stopped: dict[str, _Group] = {}
        self.rejected = _Group()
        self.rejected_first: str | None = None
        self.failed = _Group()
        self.failed_first: str | None = None
        self.versions: Counter[str] = Counter()
        self.first_at: dt.datetime | None = None
        self.last_at: dt.datetime | None = None

    def add_all(self, decisions: Iterable[LoggedDecision]) -> Replay:
        for decision in decisions:
            self.add(decision)
        return self

    def add(self, decision: LoggedDecision) -> None:
        """Replay one logged decision on the candidate and count what differs."""
        name = self.candidate.name
        if decision.ruleset != name:
            raise SimulationError(
                f"decision {decision.id} was made by ruleset '{decision.ruleset}', but the "
                f"candidate is ruleset '{name}'; replay only '{name}' decisions on it"
            )
        self.replayed += 1
        self.versions[decision.version] += 1
        at = decision.at
        if self.first_at is None or at < self.first_at:
            self.first_at = at
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        day = (
            at.date() if at.tzinfo is dt.UTC or at.tzinfo is None else at.astimezone(dt.UTC).date()
        )
        try:
            new = self.candidate.evaluate(_load(decision.input), today=day, decision_id=decision.id)
        except InputError as exc:
            self.rejected.add(decision.id)
            if self.rejected_first is None:
                d = exc.details[0] if exc.details else {}
                self.rejected_first = f"{d.get('field')}: {d.get('message')}"
            return
        except DecisionError as exc:
            self.failed.add(decision.id)
            if self.failed_first is None:
                self.failed_first = f"{exc.reason}: {exc.message}"
            return
        old = _load(decision.outputs)
        outputs = new.outputs
        differs = False
        if old != outputs:
            for key in old.keys() | outputs.keys():
                before, after = old.get(key), outputs.get(key)
                if before == after:
                    continue
                before_text, after_text = _key(before), _key(after)
                if before_text == after_text:  # e.g. a date and its ISO text
                    continue
                differs = True
                group = self.changes.get((key, before_text, after_text))
                if group is None:
                    group = self.changes[(key, before_text, after_text)] = _Group()
                group.add(decision.id)
        was = _fired_ids(_load(decision.fired))
        now = {f.rule for f in new.fired}
        if was != now:
            for rule in now - was:
                self.started.setdefault(rule, _Group()).add(decision.id)
            for rule in was - now:
                self.stopped.setdefault(rule, _Group()).add(decision.id)
        if differs:
            self.changed += 1

    def report(self, seconds: float = 0.0) -> Report:
        """Give the report of everything replayed so far, biggest groups first."""
        changes = [
            {
                "field": key,
                "from": orjson.loads(before),
                "to": orjson.loads(after),
                "count": group.count,
                "examples": group.examples,
            }
            for (key, before, after), group in self.changes.items()
        ]
        changes.sort(key=lambda c: (-c["count"], c["field"], _key(c["from"]), _key(c["to"])))
        other = (
            sum(n for version, n in self.versions.items() if version != self.baseline)
            if self.baseline
            else 0
        )
        return Report(
            ruleset=self.candidate.name,
            candidate_version=self.candidate.version,
            baseline_version=self.baseline,
            replayed=self.replayed,
            changed=self.changed,
            unchanged=self.replayed - self.changed - self.rejected.count - self.failed.count,
            changes=changes,
            started_firing=_rules(self.started),
            stopped_firing=_rules(self.stopped),
            rejected={
                "count": self.rejected.count,
                "examples": self.rejected.examples,
                "first_error": self.rejected_first,
            },
            failed={
                "count": self.failed.count,
                "examples": self.failed.examples,
                "first_error": self.failed_first,
            },
            versions=dict(self.versions.most_common()),
            other_versions=other,
            first_at=self.first_at.isoformat() if self.first_at else None,
            last_at=self.last_at.isoformat() if self.last_at else None,
            seconds=round(seconds, 3),
        )


def _rules(groups: dict[str, _Group]) -> list[dict[str, Any]]:
    found = [{"rule": r, "count": g.count, "examples": g.examples} for r, g in groups.items()]
    return sorted(found, key=lambda r: (-r["count"], r["rule"]))


def simulate(
    candidate: Ruleset,
    decisions: Iterable[LoggedDecision],
    *,
    baseline_version: str | None = None,
) -> Report:
    """Replay ``decisions`` on ``candidate``; give the report (SimulationError if it cannot)."""
    return Replay(candidate, baseline_version=baseline_version).add_all(decisions).report()
