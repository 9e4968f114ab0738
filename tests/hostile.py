"""Checks shared by the hostile-input suite: the service still answers after an attack."""

from __future__ import annotations

import time

import httpx


def assert_still_answering(base_url: str, within: float = 1.0) -> None:
    """Fail unless GET /healthz answers 200 within ``within`` seconds."""
    started = time.monotonic()
    response = httpx.get(f"{base_url}/healthz", timeout=within)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed < within, f"/healthz took {elapsed:.2f} s"


def assert_refused(response: httpx.Response, status: int, *words: str) -> dict[str, object]:
    """Fail unless the response is the one JSON error shape with ``status`` naming ``words``."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    error = response.json()["error"]
    assert isinstance(error, dict)
    text = (error.get("message", "") + " " + str(error.get("details", ""))).lower()
    for word in words:
        assert word.lower() in text, f"{word!r} not in {text!r}"
    return error
