"""Synthetic demo data: insurance claims and customer complaints, with three fraud rings.

``generate_set(cases, seed)`` gives the same cases for the same seed and as-of date (dates are
relative to ``as_of``, default today, so that deadlines fall around "now"): people with
addresses, phones, e-mails and bank accounts; evidence of several kinds, some unverified, some
contradicting; event histories; deadlines, some overdue; closed cases with outcomes.

Every party and identifier belongs to one case, except on purpose:

* three fraud rings of 4 to 8 claims each (with 12 or more cases): a ring shares a payout bank
  account, or a witness and a repair garage, or a household (address and phone) of claimants
  who stage accidents with each other;
* a few repeat complainants, each with two complaints.

So a link query from a ring claim finds exactly its ring, and ``DemoSet.rings`` says which
cases form each ring. One ring claim is the demo's headline (``DemoSet.headline``): open,
priority 1, a few days overdue and assigned to the demo expert, so it heads the expert's
worklist with a real deadline (every date is relative to ``as_of``).
"""

from __future__ import annotations

import random
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import LiteralString

from service.demo.history import Histories, minute
from service.demo.people import People
from service.demo.words import CLAIM_LINES, COMPLAINT_CATEGORIES, COMPLAINT_PRODUCTS
from service.graph.cases import close_case
from service.graph.db import Graph
from service.graph.importer import ImportSummary, Progress, import_cases
from service.graph.models import (
    CaseIn,
    CaseStatus,
    CloseIn,
    Identifier,
    IdentifierKind,
    Party,
)

__all__ = [
    "DemoSet",
    "demo_loaded",
    "generate",
    "generate_set",
    "graph_is_empty",
    "load_demo",
    "write_demo",
]

HAS_CASE: LiteralString = "MATCH (c:Case) RETURN c.id AS id LIMIT 1"
# The first demo case is a claim or a complaint, whatever the seed and size.
HAS_DEMO: LiteralString = "MATCH (c:Case) WHERE c.id IN $ids RETURN c.id AS id LIMIT 1"

RING_SIZES = (4, 8)
CLAIM_SHARE = 0.6
REPEAT_COMPLAINANT_SHARE = 0.04
CLAIM_DUE_DAYS = 30
# Who works the demo's open cases: `make run` signs in as "expert", who has some of them.
DEMO_ASSIGNEES = ("expert", "jordan", "priya", None)
COMPLAINT_DUE_DAYS = 56  # eight weeks, as complaint rules in the UK give a firm
HEADLINE_LATE = 3  # days the headline claim is overdue


@dataclass(frozen=True)
class DemoSet:
    """Generated cases, the case ids of each fraud ring, and how each closed case ended."""

    cases: list[CaseIn]
    rings: list[list[str]]
    closings: dict[str, CloseIn] = field(default_factory=dict)
    headline: str | None = None  # the ring claim that heads the demo expert's worklist


def generate(
    cases: int = 500, seed: int = 7, *, prefix: str = "", as_of: datetime | None = None
) -> list[CaseIn]:
    """Give ``cases`` demo cases for ``seed`` (see ``generate_set``), without writing them."""
    return generate_set(cases, seed, prefix=prefix, as_of=as_of).cases


def generate_set(
    cases: int = 500, seed: int = 7, *, prefix: str = "", as_of: datetime | None = None
) -> DemoSet:
    """Give the demo data for ``seed``: cases, rings, closings.

    ``prefix`` goes before every id and identifier value, so that data sets generated with
    different prefixes share no node (tests and benchmarks use it to stay apart).
    """
    if cases < 0:
        raise ValueError(f"cases must be 0 or more, not {cases}")
    day = as_of or datetime.now(UTC)
    day = (day if day.tzinfo else day.replace(tzinfo=UTC)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return _Generator(cases, seed, prefix, day).run()


def graph_is_empty(graph: Graph) -> bool:
    """Tell whether the graph holds no case at all."""
    return not graph.read(HAS_CASE)


def demo_loaded(graph: Graph, *, prefix: str = "") -> bool:
    """Tell whether demo data (with this prefix) is in the graph, whatever else is there."""
    return bool(graph.read(HAS_DEMO, ids=[f"{prefix}CLM-000001", f"{prefix}CMP-000001"]))


def load_demo(
    graph: Graph,
    cases: int = 500,
    seed: int = 7,
    progress: Progress | None = None,
    *,
    prefix: str = "",
    as_of: datetime | None = None,
    batch_size: int = 500,
) -> ImportSummary:
    """Generate the demo data and write it (again: nothing is duplicated); give what was done."""
    data = generate_set(cases, seed, prefix=prefix, as_of=as_of)
    return write_demo(graph, data, progress=progress, batch_size=batch_size)


def write_demo(
    graph: Graph, data: DemoSet, *, progress: Progress | None = None, batch_size: int = 500
) -> ImportSummary:
    """Write generated demo data a batch at a time: its cases, then the closing of those closed.

    ``progress`` is called with the number of cases of each batch once it is done, so its
    total is the number of cases.
    """
    summary = ImportSummary()
    started = time.perf_counter()
    for start in range(0, len(data.cases), batch_size):
        chunk = data.cases[start : start + batch_size]
        summary.merge(import_cases(graph, chunk, batch_size=batch_size, source="demo"))
        for case in chunk:
            closing = data.closings.get(case.id)
            if closing is not None:
                close_case(graph, case.id, closing)
        if progress is not None:
            progress(len(chunk))
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class _Ring:
    """What the claims of one fraud ring share, by its way of working (``kind`` 0, 1 or 2)."""

    kind: int
    window: int  # days within which its claims are filed
    count: int = 0
    start: datetime | None = None
    account: str = ""  # kind 0: one payout account behind several claimants
    helpers: list[Party] = field(default_factory=list)  # kind 1: the same witness and garage
    pool: list[Party] = field(default_factory=list)  # kind 2: a household staging accidents


class _Generator:
    """One run of the generator: a random stream, counters for unique values, the output."""

    def __init__(self, count: int, seed: int, prefix: str, as_of: datetime) -> None:
        self.count = count
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.as_of = as_of
        self.people = People(self.rng, prefix)
        self.histories = Histories(self.rng, as_of)
        self.cases: list[CaseIn] = []
        self.closings: dict[str, CloseIn] = {}

    # --- the plan ------------------------------------------------------------------------

    def run(self) -> DemoSet:
        ring_sizes = self._ring_sizes()
        ring_slots = self.rng.sample(range(self.count), sum(ring_sizes))
        ring_of: dict[int, int] = {}
        start = 0
        for ring, size in enumerate(ring_sizes):
            for slot in ring_slots[start : start + size]:
                ring_of[slot] = ring
            start += size
        rings: list[list[str]] = [[] for _ in ring_sizes]
        ring_state = [self._ring(n) for n in range(len(ring_sizes))]
        once_complainants: list[Party] = []
        for index in range(self.count):
            if index in ring_of:
                ring = ring_of[index]
                case = self._claim(index, ring_state[ring])
                rings[ring].append(case.id)
            elif self.rng.random() < CLAIM_SHARE:
                case = self._claim(index, None)
            else:
                case = self._complaint(index, once_complainants)
            self.cases.append(case)
        return DemoSet(self.cases, rings, self.closings, self._headline(rings))

    def _headline(self, rings: list[list[str]]) -> str | None:
        """Make the earliest-opened ring claim still open the headline; give its id."""
        ringed = {case_id for ring in rings[:1] for case_id in ring}
        candidates = [c for c in self.cases if c.id in ringed and c.id not in self.closings]
        if not candidates:
            return None
        claim = min(candidates, key=lambda c: (c.opened_at, c.id))
        # a few days overdue, never due before it was opened
        due = max(claim.opened_at + timedelta(days=1), self.as_of - timedelta(days=HEADLINE_LATE))
        update = {"status": "open", "priority": 1, "due_at": due, "assignee": DEMO_ASSIGNEES[0]}
        self.cases[self.cases.index(claim)] = claim.model_copy(update=update)
        return claim.id

    def _ring_sizes(self) -> list[int]:
        low, high = RING_SIZES
        sizes = [self.rng.randint(low, high) for _ in range(3)]
        while sizes and sum(sizes) > self.count:
            if sizes[-1] > low:
                sizes[-1] -= 1
            else:
                sizes.pop()
        return sizes

    def _ring(self, number: int) -> _Ring:
        """Give what the cases of one ring share, by the ring's way of working."""
        ring = _Ring(kind=number % 3, window=self.rng.randint(20, 70))
        if ring.kind == 0:  # one payout account behind several claimants
            ring.account = self.people.iban(self.people.next_owner())
        elif ring.kind == 1:  # the same witness, and the same garage, every time
            ring.helpers = [
                self.people.person("witness", kinds=("phone", "address")),
                self.people.provider("motor"),
            ]
        else:  # a household staging accidents with each other
            owner = self.people.next_owner()
            address, phone = self.people.address(owner), self.people.phone(owner)
            pool = []
            for n in range(self.rng.randint(3, 4)):
                person = self.people.person("claimant", kinds=("email", "bank_account"))
                extra = [Identifier(kind="address", value=address)]
                if n < 2:
                    extra.append(Identifier(kind="phone", value=phone))
                pool.append(
                    person.model_copy(
                        update={"identifiers": [*person.identifiers, *extra], "flagged": n == 0}
                    )
                )
            ring.pool = pool
        return ring

    # --- cases ---------------------------------------------------------------------------

    def _opened(self, status: str, recent: int) -> datetime:
        days = self.rng.uniform(30, 365) if status == "closed" else self.rng.uniform(0.5, recent)
        return minute(self.as_of - timedelta(days=days))

    def _status(self) -> CaseStatus:
        roll = self.rng.random()
        return "closed" if roll < 0.45 else "pending" if roll < 0.6 else "open"

    def _claim(self, index: int, ring: _Ring | None) -> CaseIn:
        rng = self.rng
        case_id = f"{self.prefix}CLM-{index + 1:06d}"
        line = "motor" if ring is not None and ring.kind == 2 else rng.choice(CLAIM_LINES)
        status = self._status()
        opened = self._opened(status, 45)
        if ring is not None:  # a ring files its claims within a few weeks of each other
            ring.start = ring.start or opened
            opened = ring.start + timedelta(days=rng.uniform(0, ring.window))
            opened = minute(min(opened, self.as_of - timedelta(hours=6)))
        base = {"motor": 2600.0, "home": 4200.0, "travel": 900.0}[line]
        amount = round(base * rng.lognormvariate(0, 0.6) * (1.6 if ring is not None else 1.0), 2)
        claimant, others = self._claim_parties(line, ring)
        parties = [claimant, *others]
        verify = 0.35 if ring is not None else 0.75
        evidence = self.histories.claim_evidence(case_id, line, opened, parties, verify)
        events, closing = self.histories.claim_events(
            case_id, line, status, opened, ring is not None
        )
        incident = opened - timedelta(days=rng.randint(1, 20))
        case = CaseIn(
            id=case_id,
            type="insurance-claim",
            status=status,
            assignee=_assignee(case_id, status),
            opened_at=opened,
            due_at=opened + timedelta(days=CLAIM_DUE_DAYS),
            priority=2 if amount > 10_000 else rng.choice((2, 3, 3, 3, 4)),
            attributes={
                "line": line,
                "amount": amount,
                "currency": "GBP",
                "policy": f"POL-{rng.randint(10_000_000, 99_999_999)}",
                "incident_date": incident.date().isoformat(),
            },
            parties=parties,
            evidence=evidence,
            events=events,
        )
        if closing is not None:
            self.closings[case_id] = closing
        return case

    def _claim_parties(self, line: str, ring: _Ring | None) -> tuple[Party, list[Party]]:
        rng = self.rng
        kinds: tuple[IdentifierKind, ...] = ("email", "phone", "address", "bank_account")
        others: list[Party] = []
        if ring is None:
            claimant = self.people.person("claimant", kinds=kinds, flagged=rng.random() < 0.01)
            if line == "motor" and rng.random() < 0.5:
                others.append(self.people.person("third-party", kinds=("phone", "address")))
            if rng.random() < 0.35:
                others.append(self.people.person("witness", kinds=("phone",)))
            if rng.random() < 0.7:
                others.append(self.people.provider(line))
            return claimant, others
        ring.count += 1
        if ring.kind == 0:
            person = self.people.person("claimant", kinds=("email", "phone", "address"))
            account = Identifier(kind="bank_account", value=ring.account)
            claimant = person.model_copy(
                update={
                    "identifiers": [*person.identifiers, account],
                    "flagged": ring.count == 2,
                }
            )
            if rng.random() < 0.7:
                others.append(self.people.provider(line))
        elif ring.kind == 1:
            claimant = self.people.person("claimant", kinds=kinds)
            others += ring.helpers
        else:
            first, second = rng.sample(ring.pool, 2)
            claimant = first
            others.append(second.model_copy(update={"role": "third-party"}))
        return claimant, others

    def _complaint(self, index: int, once: list[Party]) -> CaseIn:
        rng = self.rng
        case_id = f"{self.prefix}CMP-{index + 1:06d}"
        status = self._status()
        opened = self._opened(status, 70)
        if once and rng.random() < REPEAT_COMPLAINANT_SHARE:
            complainant = once.pop(rng.randrange(len(once)))
        else:
            complainant = self.people.person(
                "complainant", kinds=("email", "phone", "address"), flagged=rng.random() < 0.005
            )
            once.append(complainant)
        parties = [complainant]
        if rng.random() < 0.05:
            parties.append(self.people.person("representative", kinds=("email", "phone")))
        vulnerable = rng.random() < 0.08
        product = rng.choice(COMPLAINT_PRODUCTS)
        disputed = round(rng.lognormvariate(4.5, 1.0), 2) if rng.random() < 0.6 else 0.0
        evidence = self.histories.complaint_evidence(case_id, opened, complainant)
        events, closing = self.histories.complaint_events(case_id, status, opened)
        case = CaseIn(
            id=case_id,
            type="customer-complaint",
            status=status,
            assignee=_assignee(case_id, status),
            opened_at=opened,
            due_at=opened + timedelta(days=COMPLAINT_DUE_DAYS),
            priority=1 if vulnerable else rng.choice((2, 3, 3, 4, 5)),
            attributes={
                "channel": rng.choice(("email", "phone", "web", "letter", "branch")),
                "product": product,
                "category": rng.choice(COMPLAINT_CATEGORIES),
                "amount_disputed": disputed,
                "vulnerable_customer": vulnerable,
            },
            parties=parties,
            evidence=evidence,
            events=events,
        )
        if closing is not None:
            self.closings[case_id] = closing
        return case


def _assignee(case_id: str, status: str) -> str | None:
    """Give a demo case's assignee, from its id (so the demo's random draws stay as they were)."""
    if status == "closed":
        return None
    return DEMO_ASSIGNEES[zlib.crc32(case_id.encode()) % len(DEMO_ASSIGNEES)]
