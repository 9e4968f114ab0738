"""Response shapes, for the OpenAPI document at /docs.

Handlers build plain dicts and send them as they are; these models only document them, so no
decision pays for pydantic validation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(examples=["invalid-input"])
    message: str = Field(
        examples=["input for ruleset 'invoice-approval' has 1 bad field(s): amount"]
    )
    details: list[Any] = Field(
        default_factory=list,
        examples=[[{"field": "amount", "message": "must be at least 0", "value": -5}]],
    )


class ErrorResponse(BaseModel):
    """Every error the API answers."""

    error: ErrorBody


class FiredRuleOut(BaseModel):
    rule: str = Field(description="Rule id, or '<table id>#<row>' for a decision-table row.")
    values: dict[str, Any] = Field(description="The input values its condition read.")


class DecisionOut(BaseModel):
    """A decision: outputs, the rules that fired in order, and the ruleset version."""

    id: str
    ruleset: str
    version: str = Field(description="sha256 of the rule file the decision used.")
    outputs: dict[str, Any]
    fired: list[FiredRuleOut]
    facts: list[str] = Field(description="Facts derived by the rules.")
    duration_ms: float
    values: dict[str, Any] | None = Field(
        None, description="Intermediate values the tables and rules decided (when declared)."
    )
    case_id: str | None = Field(
        default=None,
        description="Only when the outputs say open_case: true: the case the decision opened "
        "(null without a case graph). Absent from a dry run.",
    )
    dry_run: bool | None = Field(
        default=None,
        description="Only on an author's decision: true, as nothing was opened or logged.",
    )
    would_open_case: bool | None = Field(
        default=None, description="Only on a dry run: whether the decision would open a case."
    )


class BatchItemOut(BaseModel):
    """One item's answer: either ``decision`` or ``error``."""

    decision: DecisionOut | None = None
    error: ErrorBody | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut] = Field(description="One result per item, in the items' order.")


class RulesetSummary(BaseModel):
    name: str
    description: str
    version: str
    counts: dict[str, int] = Field(examples=[{"inputs": 5, "outputs": 4, "rules": 6, "tables": 1}])


class RulesetList(BaseModel):
    rulesets: list[RulesetSummary]


class RulesetDetail(BaseModel, extra="allow"):
    """A ruleset's schema, rules and tables, as the engine describes it."""

    name: str
    description: str
    version: str
    input: dict[str, Any]
    output: dict[str, Any]
    rules: list[Any]
    tables: list[Any]


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Ready(BaseModel):
    status: str = Field(examples=["ready"])
    rulesets: int = Field(description="Number of rulesets served.")


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown ruleset or route."},
    413: {"model": ErrorResponse, "description": "Body or batch over the configured limit."},
    422: {
        "model": ErrorResponse,
        "description": "Invalid input (every bad field named) or a decision that failed.",
    },
    500: {"model": ErrorResponse, "description": "Internal error, with an error id."},
}

# Every answer of the decision routes but 200, in the one error shape.
DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No API key or session, or a key not valid."},
    403: {
        "model": ErrorResponse,
        "description": "The caller's role may not decide, or the key is not for the ruleset.",
    },
    404: {"model": ErrorResponse, "description": "Unknown ruleset."},
    409: {
        "model": ErrorResponse,
        "description": "Idempotency-Key used before by another caller, ruleset or input "
        "(idempotency-conflict).",
    },
    413: ERRORS[413],
    422: {
        "model": ErrorResponse,
        "description": "Invalid input or Idempotency-Key (every bad field named), "
        "or a decision that failed.",
    },
    500: ERRORS[500],
    503: {
        "model": ErrorResponse,
        "description": "The decision log cannot take the record, the case graph does not answer "
        "(with the log off), or no user store to check the key.",
    },
}
