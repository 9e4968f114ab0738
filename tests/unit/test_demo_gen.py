"""The demo data generator, without a graph: determinism, rings, realism of what it makes."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from service.demo.cases import DemoSet, generate, generate_set

AS_OF = datetime(2026, 6, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> DemoSet:
    return generate_set(500, 7, as_of=AS_OF)


def components(data: DemoSet) -> list[set[str]]:
    """Give the groups of cases joined by a shared party or identifier (what links finds)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for case in data.cases:
        find(case.id)
        for party in case.parties:
            parent[find("party:" + party.id)] = find(case.id)
            for identifier in party.identifiers:
                key = f"{identifier.kind}:{identifier.value}"
                parent[find(key)] = find(case.id)
    groups: dict[str, set[str]] = defaultdict(set)
    for case in data.cases:
        groups[find(case.id)].add(case.id)
    return list(groups.values())


def test_same_seed_same_data_other_seed_other_data(demo: DemoSet) -> None:
    again = generate_set(500, 7, as_of=AS_OF)
    assert [c.model_dump() for c in again.cases] == [c.model_dump() for c in demo.cases]
    assert again.rings == demo.rings and again.closings == demo.closings
    other = generate(500, 8, as_of=AS_OF)
    assert [c.model_dump() for c in other] != [c.model_dump() for c in demo.cases]


def test_default_is_500_claims_and_complaints(demo: DemoSet) -> None:
    assert len(demo.cases) == 500
    assert len({c.id for c in demo.cases}) == 500
    types = Counter(c.type for c in demo.cases)
    assert set(types) == {"insurance-claim", "customer-complaint"}
    assert min(types.values()) > 100


def test_three_rings_of_4_to_8_claims_are_exactly_the_linked_groups(demo: DemoSet) -> None:
    assert len(demo.rings) == 3
    by_id = {c.id: c for c in demo.cases}
    for ring in demo.rings:
        assert 4 <= len(ring) <= 8
        assert all(by_id[case_id].type == "insurance-claim" for case_id in ring)
    groups = components(demo)
    rings = sorted(sorted(ring) for ring in demo.rings)
    assert sorted(sorted(g) for g in groups if len(g) > 2) == rings
    # Outside the rings only repeat complainants join cases, two at a time.
    pairs = [g for g in groups if len(g) == 2]
    assert pairs, "expected a few repeat complainants"
    for pair in pairs:
        assert {by_id[c].type for c in pair} == {"customer-complaint"}


def test_each_ring_shares_people_or_bank_accounts(demo: DemoSet) -> None:
    by_id = {c.id: c for c in demo.cases}
    for ring in demo.rings:
        shared: Counter[str] = Counter()
        for case_id in ring:
            seen = {f"party:{p.id}" for p in by_id[case_id].parties}
            seen |= {f"{i.kind}:{i.value}" for p in by_id[case_id].parties for i in p.identifiers}
            shared.update(seen)
        common = {key for key, n in shared.items() if n > 1}
        assert any(k.startswith(("party:", "bank_account:", "address:")) for k in common)


def test_some_evidence_unverified_some_contradicting(demo: DemoSet) -> None:
    evidence = [e for c in demo.cases for e in c.evidence]
    verified = sum(e.verified for e in evidence)
    assert 0.3 * len(evidence) < verified < 0.9 * len(evidence)
    assert any(e.effect == "contradicts" for e in evidence)
    kinds = Counter(e.kind for e in evidence)
    assert {"statement", "photo", "police-report", "invoice", "call-recording"} <= set(kinds)


def test_deadlines_some_overdue_and_closed_cases_have_an_outcome(demo: DemoSet) -> None:
    not_closed = [c for c in demo.cases if c.status != "closed"]
    overdue = [c for c in not_closed if c.due_at is not None and c.due_at < AS_OF]
    assert 0 < len(overdue) < len(not_closed)
    closed = {c.id for c in demo.cases if c.status == "closed"}
    assert closed == set(demo.closings)
    assert {c.outcome for c in demo.closings.values()} >= {"paid", "rejected", "upheld"}


def test_histories_are_in_time_order_and_not_in_the_future(demo: DemoSet) -> None:
    for case in demo.cases:
        times = [e.at for e in case.events]
        assert times == sorted(times), case.id
        assert case.opened_at <= times[0] and times[-1] <= AS_OF
        assert all(case.opened_at <= e.received_at <= AS_OF for e in case.evidence)
        closing = demo.closings.get(case.id)
        if closing is not None:
            assert closing.closed_at is not None
            assert times[-1] <= closing.closed_at <= AS_OF


def test_a_prefix_keeps_data_sets_apart(demo: DemoSet) -> None:
    one = generate_set(60, 7, prefix="t-one-", as_of=AS_OF)
    two = generate_set(60, 7, prefix="t-two-", as_of=AS_OF)

    def values(data: DemoSet) -> set[str]:
        return {i.value for c in data.cases for p in c.parties for i in p.identifiers} | {
            p.id for c in data.cases for p in c.parties
        }

    assert not values(one) & values(two)
    assert not values(one) & values(demo)
    assert all(c.id.startswith("t-one-") for c in one.cases)
    # The structure does not depend on the prefix.
    assert [len(r) for r in one.rings] == [len(r) for r in two.rings]


@pytest.mark.parametrize("count", [0, 3, 12, 30])
def test_small_data_sets_fit_what_rings_they_can(count: int) -> None:
    data = generate_set(count, 3, as_of=AS_OF)
    assert len(data.cases) == count
    assert sum(len(r) for r in data.rings) <= count
    assert all(len(r) >= 4 for r in data.rings)
    if count >= 24:
        assert len(data.rings) == 3


def test_another_day_gives_the_same_ids_and_structure(demo: DemoSet) -> None:
    later = generate_set(500, 7, as_of=datetime(2027, 1, 3, tzinfo=UTC))
    assert later.rings == demo.rings
    assert [
        (c.id, [p.id for p in c.parties], [e.id for e in c.evidence], [e.id for e in c.events])
        for c in later.cases
    ] == [
        (c.id, [p.id for p in c.parties], [e.id for e in c.evidence], [e.id for e in c.events])
        for c in demo.cases
    ]


def test_the_headline_ring_claim_is_a_few_days_overdue_not_centuries(demo: DemoSet) -> None:
    assert demo.headline is not None and demo.headline in demo.rings[0]
    claim = next(c for c in demo.cases if c.id == demo.headline)
    assert (claim.status, claim.priority, claim.assignee) == ("open", 1, "expert")
    assert claim.due_at is not None and claim.due_at > claim.opened_at
    late = AS_OF - claim.due_at
    assert timedelta(0) < late <= timedelta(days=3)  # overdue, with a date that can be true
    assert all(c.due_at is None or c.due_at.year >= AS_OF.year - 1 for c in demo.cases)
