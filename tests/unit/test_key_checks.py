"""Requests in flight with the same key not yet verified (or whose cached check expired) wait
for one check of it instead of each looking it up and hashing it, and a key in steady use is
checked again ahead of its expiry without a request waiting (service/auth/middleware.py).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import MemoryStore
from service.auth.store import create_key
from service.engine import Registry
from service.settings import Settings

IN_FLIGHT = 12


def _at_once(client: TestClient, key: str) -> list[Any]:
    headers = {"Authorization": f"Bearer {key}"}
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        return list(
            pool.map(lambda _: client.get("/v1/rulesets", headers=headers), range(IN_FLIGHT))
        )


def test_requests_in_flight_with_one_key_share_its_check(
    api_settings: Settings, rules_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStore()
    key = create_key(store, "shared", ["*"])
    looked_up: list[str] = []
    find = store.find_key

    def counted(key_id: str) -> Any:
        looked_up.append(key_id)
        return find(key_id)

    monkeypatch.setattr(store, "find_key", counted)
    app = create_app(api_settings, rules_registry, users=store)
    with TestClient(app) as client:
        answers = _at_once(client, key)
        assert [a.status_code for a in answers] == [200] * IN_FLIGHT
        assert len(looked_up) == 1  # one lookup and one hash, not one per request
        # the cached check expires (after 60 s in a server): the next burst checks it once more
        app.state.auth.keys.clear()
        looked_up.clear()
        assert [a.status_code for a in _at_once(client, key)] == [200] * IN_FLIGHT
        assert len(looked_up) == 1


def test_a_wrong_key_in_flight_many_times_is_refused_every_time(
    api_settings: Settings, rules_registry: Registry
) -> None:
    store = MemoryStore()
    key = create_key(store, "wrong", ["*"])
    with TestClient(create_app(api_settings, rules_registry, users=store)) as client:
        answers = _at_once(client, key[:-1] + ("A" if key[-1] != "A" else "B"))
    # each attempt is checked on its own (the key's failures then reach the throttle's limit)
    assert all(a.status_code in (401, 429) for a in answers), [a.status_code for a in answers]
    assert {a.json()["error"]["code"] for a in answers} <= {"unauthenticated", "too-many-attempts"}


def test_a_key_in_steady_use_is_checked_again_ahead_without_a_request_waiting(
    api_settings: Settings, rules_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In the last part of its cache time a key is checked again in the background while the
    # cached check still serves: no request waits for the hash, and a key that no longer
    # checks (here: removed from the store behind the worker's back) is dropped then.
    store = MemoryStore()
    key = create_key(store, "steady", ["*"])
    headers = {"Authorization": f"Bearer {key}"}
    find, lookups, hold = store.find_key, queue.Queue[str](), threading.Event()

    def held(key_id: str) -> Any:
        lookups.put(key_id)
        assert hold.wait(10), "the test never let the lookup go on"
        return find(key_id)

    app = create_app(api_settings, rules_registry, users=store)
    with TestClient(app) as client:
        assert client.get("/v1/rulesets", headers=headers).status_code == 200  # checked, cached
        monkeypatch.setattr(store, "find_key", held)
        app.state.auth.keys.ahead = app.state.auth.keys.ttl  # every use is in the last part
        # Served from the cache while its check runs again, held up in the store.
        assert client.get("/v1/rulesets", headers=headers).status_code == 200
        assert lookups.get(timeout=5)
        assert client.get("/v1/rulesets", headers=headers).status_code == 200
        assert lookups.empty()  # one check at a time
        store.keys.clear()  # gone from the store, with no change of generation
        hold.set()
        deadline = time.monotonic() + 10
        while app.state.auth.keys.get(key) is not None:
            assert time.monotonic() < deadline, "the key was not checked again"
            time.sleep(0.01)
        assert client.get("/v1/rulesets", headers=headers).status_code == 401
