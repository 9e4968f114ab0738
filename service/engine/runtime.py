"""Running a compiled ruleset in durable_rules' C engine, one decision at a time.

durable_rules keeps facts inside its C engine, per session id. A decision is the input
fact, plus (when rules read ``fact()``) a current fact that carries the facts derived
so far; every decision of a ruleset uses the same session and retracts its facts when
it ends (also on error), so nothing is left behind and memory stays flat however many
decisions are made.
Deleting a session instead (``delete_state``) is not safe: durable_rules 2.0.28 reads
uninitialised memory in ``deleteStateNode`` (valgrind shows it) and crashes at random.
Calls into one engine ruleset are serialised with a lock: the session and the engine's
per-ruleset queues are not meant for interleaved callers, and a decision holds the lock
for tens of microseconds.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

import durable_rules_engine as dre
import orjson

from .compile import CURRENT_FACT

_names = itertools.count()
SESSION = "s"


class Program:
    """One ruleset compiled into a durable_rules ruleset."""

    def __init__(
        self, label: str, definition: dict[str, Any], *, facts_from_start: bool = True
    ) -> None:
        """``facts_from_start``: some rule on fact() may hold before any fact is derived."""
        self.definition = definition
        self._handle = dre.create_ruleset(f"{label}#{next(_names)}", _dumps(definition))
        self._lock = threading.Lock()
        self._uses_facts = f'"$t":"{CURRENT_FACT}"' in _dumps(definition)
        self._eager = self._uses_facts and facts_from_start

    def run(self, fact: dict[str, Any], fire: Callable[[str], Iterable[str]]) -> None:
        """Assert the decision's facts and fire matching rules in agenda order.

        ``fact`` is the input fact (``$t: in``, with an empty ``f``). When rules read
        ``fact()``, a copy of it is asserted as the current fact (``$t: cur``).
        ``fire(rule_name)`` acts on one firing and returns the names of newly derived facts;
        the current fact is then replaced by one that carries them under ``f``: rules on
        them activate, and activations that no longer hold (``not fact(...)``) are
        retracted. If ``fire`` raises, remaining activations are drained without acting,
        the facts are retracted, and then the exception propagates.
        """
        handle = self._handle
        with self._lock:
            fact["sid"] = SESSION
            fact["id"] = "i"
            facts = fact.pop("f")
            text = _dumps(fact)
            code, state = dre.assert_fact(handle, text)
            stored = code == 0  # 1: no condition looks at anything this fact has
            current: dict[str, Any] | None = None
            current_text = ""
            current_stored = False
            if self._uses_facts:
                current = {**fact, "$t": CURRENT_FACT, "id": "c", "f": facts}
            if self._eager and current is not None:
                current_text = _dumps(current)
                current_code, current_state = dre.assert_fact(handle, current_text)
                current_stored = current_code == 0
                if not stored:
                    state = current_state
            failure: BaseException | None = None
            try:
                message = (
                    dre.start_action_for_state(handle, state) if stored or current_stored else None
                )
                while message:
                    payload = message[1] if isinstance(message, tuple) else message
                    if failure is None:
                        try:
                            derived = list(fire(payload[2 : payload.index('"', 2)]))
                            if derived and current is not None:
                                if current_stored:
                                    dre.retract_fact(handle, current_text)
                                for name in derived:
                                    facts[name] = True
                                current_text = _dumps(current)
                                current_stored = dre.assert_fact(handle, current_text)[0] == 0
                        except BaseException as exc:  # noqa: BLE001 - re-raised below
                            failure = exc
                    message = dre.complete_and_start_action(handle, state)
            finally:
                if current_stored:
                    dre.retract_fact(handle, current_text)
                if stored:
                    dre.retract_fact(handle, text)
            if failure is not None:
                raise failure

    def close(self) -> None:
        """Free the engine's copy of the ruleset."""
        handle, self._handle = self._handle, None
        if handle is not None:
            dre.delete_ruleset(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
