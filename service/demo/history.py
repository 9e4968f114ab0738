"""What happens in a demo case: the evidence that comes in, the events, how it ends."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from service.demo.words import HANDLERS
from service.graph.models import CloseIn, Event, Evidence, Party


def minute(value: datetime) -> datetime:
    """Give the time to the minute, as people write it down."""
    return value.replace(second=0, microsecond=0)


class Histories:
    """Makes evidence and event histories of cases, dated up to ``as_of``."""

    def __init__(self, rng: random.Random, as_of: datetime) -> None:
        self.rng = rng
        self.as_of = as_of

    def _evidence(
        self, case_id: str, opened: datetime, specs: list[tuple[str, str, list[str], str]], p: float
    ) -> list[Evidence]:
        items = []
        for n, (kind, source, concerns, text) in enumerate(specs, 1):
            latest = max((self.as_of - opened).total_seconds() / 86400, 0.1)
            received = opened + timedelta(days=self.rng.uniform(0, min(latest, 25)))
            items.append(
                Evidence(
                    id=f"{case_id}:ev{n}",
                    kind=kind,
                    received_at=minute(received),
                    verified=self.rng.random() < p,
                    source=source,
                    effect="contradicts" if self.rng.random() < 0.07 else "supports",
                    concerns=concerns,
                    description=text,
                )
            )
        return items

    def claim_evidence(
        self, case_id: str, line: str, opened: datetime, parties: list[Party], p: float
    ) -> list[Evidence]:
        rng = self.rng
        by_role = {party.role: party.id for party in parties}
        claimant = by_role["claimant"]
        specs = [("statement", "claimant", [claimant], "Claimant's account of the incident")]
        for n in range(rng.randint(1, 3)):
            specs.append(("photo", "claimant", [], f"Photo {n + 1} of the damage"))
        if "witness" in by_role:
            specs.append(("statement", "witness", [by_role["witness"]], "Witness statement"))
        if "third-party" in by_role or rng.random() < 0.3:
            involved = [claimant] + ([by_role["third-party"]] if "third-party" in by_role else [])
            specs.append(("police-report", "police", involved, "Police incident report"))
        provider = next((x.id for x in parties if x.kind == "organisation"), None)
        if provider is not None:
            text = {"motor": "Repair estimate", "home": "Builder's quote"}.get(line, "Clinic bill")
            specs.append(("invoice", "provider", [provider], text))
        if line == "travel" or rng.random() < 0.15:
            specs.append(("medical-report", "clinic", [claimant], "Treatment report"))
        return self._evidence(case_id, opened, specs, p)

    def complaint_evidence(
        self, case_id: str, opened: datetime, complainant: Party
    ) -> list[Evidence]:
        who = [complainant.id]
        specs = [("statement", "customer", who, "Customer's description of the complaint")]
        for kind, source, text, chance in (
            ("correspondence", "customer", "Earlier e-mails with the customer", 0.6),
            ("call-recording", "contact-centre", "Recording of the customer's call", 0.4),
            ("bank-statement", "customer", "Statement showing the disputed charge", 0.35),
            ("photo", "customer", "Photo the customer sent", 0.15),
        ):
            if self.rng.random() < chance:
                specs.append((kind, source, who if kind != "photo" else [], text))
        return self._evidence(case_id, opened, specs, 0.7)

    def _history(self, case_id: str, opened: datetime, steps: list[str]) -> list[Event]:
        """Give one event per step, each some hours to days after the one before (not future)."""
        events, at = [], opened
        for n, kind in enumerate(steps, 1):
            if n > 1:
                at = at + timedelta(hours=self.rng.uniform(2, 24 * 6))
            at = min(at, self.as_of - timedelta(minutes=len(steps) - n + 1))
            actor = "system" if n == 1 else self.rng.choice(HANDLERS)
            events.append(Event(id=f"{case_id}:e{n:02d}", kind=kind, at=minute(at), actor=actor))
        return events

    def claim_events(
        self, case_id: str, line: str, status: str, opened: datetime, ring: bool
    ) -> tuple[list[Event], CloseIn | None]:
        inspection = {"motor": ["vehicle-inspected"], "home": ["site-visit"]}.get(line, [])
        path = [
            "claim-registered", "acknowledgement-sent", "documents-requested",
            "documents-received", "assessor-assigned", *inspection, "assessment-completed",
        ]  # fmt: skip
        if status == "pending":
            steps = path[: self.rng.randint(3, len(path) - 2)]
            steps += [] if steps[-1] == "documents-requested" else ["information-requested"]
            return self._history(case_id, opened, steps), None
        if status == "open":
            return self._history(case_id, opened, path[: self.rng.randint(1, len(path))]), None
        roll = self.rng.random()
        if ring and roll < 0.3:
            steps, outcome = [*path, "referred-to-fraud-team", "claim-rejected"], "rejected-fraud"
        elif roll < 0.75:
            steps, outcome = [*path, "payment-approved", "payment-made"], "paid"
        elif roll < 0.93:
            steps, outcome = [*path, "claim-rejected"], "rejected"
        else:
            steps, outcome = path[:3], "withdrawn"
        return self._closed(case_id, opened, steps, outcome)

    def complaint_events(
        self, case_id: str, status: str, opened: datetime
    ) -> tuple[list[Event], CloseIn | None]:
        path = [
            "complaint-received", "acknowledged", "investigation-started",
            "customer-contacted", "response-drafted",
        ]  # fmt: skip
        if status == "pending":
            steps = [*path[: self.rng.randint(2, 4)], "information-requested"]
            return self._history(case_id, opened, steps), None
        if status == "open":
            return self._history(case_id, opened, path[: self.rng.randint(1, len(path))]), None
        outcome = self.rng.choices(("upheld", "partially-upheld", "not-upheld"), (4, 3, 3))[0]
        steps = [*path, "final-response-sent"]
        if outcome == "not-upheld" and self.rng.random() < 0.3:
            steps.append("referred-to-ombudsman")
        return self._closed(case_id, opened, steps, outcome)

    def _closed(
        self, case_id: str, opened: datetime, steps: list[str], outcome: str
    ) -> tuple[list[Event], CloseIn]:
        events = self._history(case_id, opened, steps)
        closed_at = min(events[-1].at + timedelta(hours=self.rng.uniform(1, 48)), self.as_of)
        reason = f"closed after {events[-1].kind}"
        return events, CloseIn(outcome=outcome, closed_at=minute(closed_at), reason=reason)
