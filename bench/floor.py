"""The floor under any durable_rules-based engine: its C calls alone, replayed.

Every call Casewise makes into durable_rules' C module while deciding the sample inputs is
recorded, then the same calls are replayed and timed with no Python work between them. No
engine that matches in durable_rules can decide faster than this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import durable_rules_engine

from service.engine import runtime

from .inprocess import Rate

_CALLS = ("assert_fact", "retract_fact", "start_action_for_state", "complete_and_start_action")


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        real = getattr(durable_rules_engine, name)
        if name not in _CALLS:
            return real

        def record(*args: Any) -> Any:
            self.calls.append((real, args))
            return real(*args)

        return record


def c_floor(
    decide: Callable[[dict[str, Any]], Any], inputs: list[dict[str, Any]], repeat: int = 5
) -> Rate:
    """Decisions per second of durable_rules' C calls alone, for these inputs."""
    recorder = _Recorder()
    with mock.patch.object(runtime, "dre", recorder):
        for data in inputs:
            decide(data)
    calls = recorder.calls
    began = time.perf_counter()
    for _ in range(repeat):
        for call, args in calls:
            call(*args)
    seconds = time.perf_counter() - began
    decisions = len(inputs) * repeat
    return Rate(decisions, seconds)
