"""Payloads the case graph accepts: cases, parties with identifiers, evidence, events, closing.

Every model forbids unknown keys, so a misspelt field is a 422 naming it. Identifier values are
normalised here (``Identifier.value``), so that the same phone or account written two ways is
one node in the graph. Datetimes without a time zone are taken as UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"
CASE_TYPE_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
"""A client-supplied id: 1..100 characters of letters, digits and ``. _ : -``."""

Scalar = str | int | float | bool
Attributes = Mapping[Annotated[str, StringConstraints(min_length=1, max_length=100)], Scalar]
IdentifierKind = Literal["address", "phone", "email", "bank_account"]
PartyKind = Literal["person", "organisation"]
CaseStatus = Literal["open", "pending", "closed"]


MAX_UTC_OFFSET = dt.timedelta(hours=18)
"""The largest UTC offset Neo4j stores (Python allows up to 24 h)."""


def time_problem(value: dt.datetime) -> str | None:
    """Say why Neo4j could not store or compare ``value``, else None."""
    offset = value.utcoffset()
    if offset is None:
        return None
    if abs(offset) > MAX_UTC_OFFSET:
        return "has a UTC offset beyond ±18:00; give an offset from -18:00 to +18:00"
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        return "falls outside the years 0001..9999 once moved to UTC; give a time within them"
    return None


def _utc(value: dt.datetime) -> dt.datetime:
    problem = time_problem(value)
    if problem:
        raise ValueError(problem)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


Timestamp = Annotated[dt.datetime, AfterValidator(_utc)]
"""An ISO 8601 date-time; without a time zone it is UTC."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=5000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def normalise_identifier(kind: str, value: str) -> str:
    """Give ``value`` in the one form the graph keeps for an identifier of ``kind``.

    email: stripped, lower-case; phone: digits with a leading ``+`` if there was one;
    bank_account: upper-case without spaces; address: whitespace collapsed, lower-case.
    """
    if kind == "email":
        return value.strip().lower()
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return "+" + digits if value.strip().startswith("+") and digits else digits
    if kind == "bank_account":
        return re.sub(r"\s+", "", value).upper()
    return " ".join(value.split()).lower()


class Identifier(_Model):
    """An address, phone, e-mail or bank account; shared between parties that have it."""

    kind: IdentifierKind
    value: Annotated[str, StringConstraints(min_length=1, max_length=200)]

    @field_validator("value")
    @classmethod
    def _normalise(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind is None:  # the kind is bad: its own error says so
            return value
        normal = normalise_identifier(kind, value)
        if not normal:
            what = "digits" if kind == "phone" else "characters other than spaces"
            raise ValueError(f"{kind} {value!r} has no {what}")
        return normal


class Party(_Model):
    """A person or organisation taking part in a case, in a role."""

    id: Id
    kind: PartyKind
    name: Text
    role: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,49}$")] = Field(
        description="e.g. claimant, witness, insurer, complainant (lower-case)"
    )
    identifiers: list[Identifier] = []
    flagged: bool = False
    attributes: Attributes = {}


class Evidence(_Model):
    """A piece of evidence that supports or contradicts a case, concerning some parties."""

    id: Id
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,49}$")] = Field(
        description="e.g. police-report, invoice, photo, medical-report, statement"
    )
    received_at: Timestamp
    verified: bool = False
    source: Text | None = None
    effect: Literal["supports", "contradicts"] = "supports"
    concerns: list[Id] = Field(
        default=[], description="Ids of parties in the same payload or already in the graph."
    )
    description: LongText | None = None


class Event(_Model):
    """Something that happened in a case, at a time, by an actor."""

    id: Id
    kind: Text = Field(description="The activity, e.g. 'claim received'.")
    at: Timestamp
    actor: Text | None = None
    attributes: Attributes = {}


class CaseIn(_Model):
    """A case with (optionally) its parties, evidence and events; written idempotently."""

    id: Id
    type: Annotated[str, StringConstraints(pattern=CASE_TYPE_PATTERN, max_length=64)] = Field(
        description="Lower-case, dashed: insurance-claim, customer-complaint, invoice-fraud, ..."
    )
    status: CaseStatus = "open"
    opened_at: Timestamp
    due_at: Timestamp | None = None
    priority: int = Field(default=3, ge=1, le=5, description="1 is the most urgent.")
    assignee: Text | None = Field(
        default=None, description="Who works the case; omitted or null keeps the current one."
    )
    attributes: Attributes = {}
    parties: list[Party] = []
    evidence: list[Evidence] = []
    events: list[Event] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> CaseIn:
        # A party may come twice in different roles (claimant and witness); nothing else twice.
        roles = [(party.id, party.role) for party in self.parties]
        if len(set(roles)) < len(roles):
            twice = next(r for r in roles if roles.count(r) > 1)
            raise ValueError(f"parties has {twice[0]!r} in role {twice[1]!r} more than once")
        for name in ("evidence", "events"):
            ids = [item.id for item in getattr(self, name)]
            if len(set(ids)) < len(ids):
                twice_id = next(i for i in ids if ids.count(i) > 1)
                raise ValueError(f"{name} has the id {twice_id!r} more than once")
        return self


class CloseIn(_Model):
    """How a case ended."""

    outcome: Text
    closed_at: Timestamp | None = Field(default=None, description="Default: now.")
    reason: LongText | None = None


class AssignIn(_Model):
    """Who works a case: a user name, or null to unassign it."""

    assignee: Text | None = Field(description="The user who works the case; null: no one.")


class CasesIn(_Model):
    """Body of ``POST /v1/cases``."""

    cases: list[CaseIn]


class PartiesIn(_Model):
    parties: list[Party]


class EvidenceIn(_Model):
    evidence: list[Evidence]


class EventsIn(_Model):
    events: list[Event]


def error_path(loc: tuple[int | str, ...]) -> str:
    """Give a pydantic error location as a field path: ``cases[0].parties[1].kind``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path or "(body)"


def error_details(errors: list[Any]) -> list[dict[str, Any]]:
    """Give pydantic's errors as the API's ``details``: field path, message, offending value."""
    details = []
    for err in errors:
        loc = tuple(p for p in err.get("loc", ()) if p not in ("body", "path", "query"))
        value = err.get("input") if err.get("type") != "missing" else None
        if isinstance(value, dict | list):
            value = None  # the whole sub-object would drown the message
        details.append({"field": error_path(loc), "message": err.get("msg", ""), "value": value})
    return details
