"""The HTTP baseline: a bare FastAPI app that answers Casewise's decision routes with a constant.

The bench serves it with the same uvicorn settings as `casewise serve` (host, port range,
worker count, log level), so the difference between the two is the cost of Casewise's
work per request: reading and checking the body, deciding, and writing the decision.
The constant is shaped like a real decision of the same size.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Response

_DECISION = {
    "id": "0f8fad5bd9cb469fa16570867728950e",
    "ruleset": "invoice-approval",
    "version": "0" * 64,
    "outputs": {
        "route": "manager",
        "approvers": ["line-manager"],
        "sla_hours": 48,
        "expedite": False,
        "hold_payment": False,
        "open_case": False,
    },
    "fired": [
        {"rule": "sla#3", "values": {"department": "IT", "amount": 4200}},
        {"rule": "manager-approval", "values": {"amount": 4200}},
    ],
    "facts": [],
    "duration_ms": 0.1,
}
_BODY = json.dumps(_DECISION).encode()

app = FastAPI(title="bare baseline")


@app.post("/v1/decisions/{ruleset}")
async def decide(ruleset: str) -> Response:
    """The same constant decision for every request."""
    return Response(_BODY, media_type="application/json")


@app.get("/healthz")
async def health() -> dict[str, str]:
    return {"status": "ok"}
