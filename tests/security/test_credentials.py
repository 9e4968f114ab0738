"""Issue 10 items 4, 8, 10 (sessions, CSRF) and 11 (sign-in): credentials an attacker cannot burn.

Each reproducer is replayed against a real ``casewise serve`` on the test Neo4j where it matters:
a flood of bad keys is answered 429 with Retry-After before any hash, memory stays bounded and
/healthz answers; an account is locked after failed passwords, even for the right one, until
Retry-After passes; an empty or short secret stops the start; workers agree on the secret; a
copied cookie stops at sign-out; a cookie with a ``text/plain`` POST to the JSON API is 403;
``next`` never leads off the site; cookies are Secure behind TLS.

Different clients are told apart by ``X-Forwarded-For`` (documentation addresses, 203.0.113.x),
which uvicorn takes from a proxy it trusts (127.0.0.1), as it would behind a real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import multiprocessing
import queue
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.auth import MemoryStore, Neo4jStore
from service.auth import store as auth_store
from service.auth.sessions import COOKIE, SecretKeyError, secret_key
from service.auth.store import add_user, create_key
from service.engine import Registry
from service.graph.db import Graph
from service.settings import Settings, SettingsError, load_settings
from tests.auth import PASSWORD
from tests.conftest import Neo4jServer
from tests.fixtures import RULES
from tests.hostile import assert_refused, assert_still_answering
from tests.serving import CASEWISE, Served, free_port, served_env, serving

DECIDE = "/v1/decisions/invoice-approval"
INVOICE = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}}


def _env(neo4j_server: Neo4jServer, **extra: str) -> dict[str, str]:
    return served_env(neo4j_server) | {
        "CASEWISE_WATCH": "off",
        **extra,
    }


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


_ADDRESSES = itertools.count(1)


def _address() -> str:
    """A client address of its own (the failure counts are per address)."""
    return f"203.0.113.{next(_ADDRESSES)}"


def sign_in_form(
    client: httpx.Client, name: str, password: str, next_: str = "/"
) -> httpx.Response:
    """Post the sign-in form as a browser would (its CSRF token from the page)."""
    page = client.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    form = {"name": name, "password": password, "csrf": token.group(1), "next": next_}
    return client.post("/signin", data=form, follow_redirects=False)


def _csrf_of(client: httpx.Client) -> str:
    page = client.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    return token.group(1)


@dataclass(frozen=True)
class Users:
    prefix: str
    key: str  # a valid key for every ruleset

    def name(self, role: str) -> str:
        return f"{self.prefix}{role}"


@pytest.fixture(scope="module")
def users(graph: Graph) -> Users:
    """An expert, an author and a lockable user in the test graph, and a key."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    store = Neo4jStore(graph)
    for role in ("expert", "author"):
        add_user(store, f"{prefix}{role}", role, PASSWORD)
    add_user(store, f"{prefix}locked", "expert", PASSWORD)
    return Users(prefix, create_key(store, f"{prefix}system", ["*"]))


@pytest.fixture(scope="module")
def one(
    tmp_path_factory: pytest.TempPathFactory, neo4j_server: Neo4jServer, users: Users
) -> Iterator[Served]:
    """One worker (its memory is the process's), a short account window for the lockout."""
    folder = tmp_path_factory.mktemp("one")
    env = _env(
        neo4j_server,
        CASEWISE_SECRET_KEY_FILE=str(folder / "secret-key"),
        # Long enough for five slow hashes on a busy machine, short enough to wait out.
        CASEWISE_AUTH_FAILURES_PER_ACCOUNT="5 per 20 seconds",
    )
    with serving(["--rules", str(RULES)], env, folder / "serve.log") as served:
        yield served


@pytest.fixture(scope="module")
def two(
    tmp_path_factory: pytest.TempPathFactory, neo4j_server: Neo4jServer, users: Users
) -> Iterator[tuple[Served, Path]]:
    """Two workers starting together, with no session secret yet: they make it."""
    folder = tmp_path_factory.mktemp("two")
    secret = folder / "var" / "secret-key"
    env = _env(neo4j_server, CASEWISE_SECRET_KEY_FILE=str(secret))
    with serving(["--workers", "2", "--rules", str(RULES)], env, folder / "serve.log") as served:
        yield served, secret


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


# Item 4: bad keys and failed sign-ins.


def _flood(url: str, keys: list[str], address: str, clients: int, answers: Any) -> None:
    """Send every key from each of ``clients`` concurrent clients; put (status, retry, body)."""

    async def client(http: httpx.AsyncClient) -> None:
        for key in keys:
            response = await http.get("/v1/rulesets", headers={"Authorization": f"Bearer {key}"})
            retry = response.headers.get("retry-after", "")
            answers.put((response.status_code, retry, response.text))

    async def main() -> None:
        headers = _from(address)
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as http:
            await asyncio.gather(*(client(http) for _ in range(clients)))
        answers.put(None)

    asyncio.run(main())


def test_a_flood_of_bad_keys_is_429_with_memory_bounded(
    one: Served, users: Users, graph: Graph
) -> None:
    key_id = users.key.split("_")[1]
    wrong = f"cw_{key_id}_{'x' * 43}"  # a stored id, a wrong secret: the costly case
    keys = [wrong, f"cw_{uuid.uuid4().hex[:16]}_{'y' * 43}", "not-a-key", wrong, wrong]
    before = peak = _rss_mb(one.process.pid)
    # The 40 clients run in a process of their own, so they do not slow this one's checks.
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    flood = context.Process(target=_flood, args=(one.url, keys, _address(), 40, answers))
    flood.start()
    got: list[tuple[int, str, str]] = []
    deadline = time.monotonic() + 120
    while not got or got[-1] is not None:
        assert time.monotonic() < deadline, f"the flood did not end: {len(got)} answers"
        peak = max(peak, _rss_mb(one.process.pid))
        with contextlib.suppress(queue.Empty):
            got.append(answers.get(timeout=0.05))
            if len(got) % 25 == 0:
                assert_still_answering(one.url)  # while the flood goes on
    got.pop()
    flood.join(timeout=30)
    assert flood.exitcode == 0

    assert len(got) == 200
    statuses = {status for status, _, _ in got}
    assert statuses <= {401, 429}, statuses
    limited = [(retry, body) for status, retry, body in got if status == 429]
    assert len(limited) >= 100, len(limited)  # 30 failures a minute from one address
    error = json.loads(limited[0][1])["error"]
    assert error["code"] == "too-many-attempts" and "too many failed attempts" in error["message"]
    assert 1 <= int(limited[0][0]) <= 60
    # 2 hashes of 64 MiB at a time at most; without the bounds 40 clients took 2.4 GB.
    assert peak - before < 400, f"RSS grew from {before:.0f} MB to {peak:.0f} MB"
    print(f"bad-key flood: RSS {before:.0f} MB before, {peak:.0f} MB at most")
    assert_still_answering(one.url)
    # The attacked key id is locked for its window, even with its right secret (as documented);
    # another client with another key is served.
    elsewhere = _from(_address())
    locked = httpx.get(
        f"{one.url}/v1/rulesets", headers={"Authorization": f"Bearer {users.key}", **elsewhere}
    )
    assert_refused(locked, 429, "too many")
    other = create_key(Neo4jStore(graph), f"{users.prefix}other", ["*"])
    good = httpx.get(
        f"{one.url}/v1/rulesets", headers={"Authorization": f"Bearer {other}", **elsewhere}
    )
    assert good.status_code == 200, good.text


def test_failed_passwords_lock_the_account_even_for_the_right_one(
    one: Served, users: Users
) -> None:
    name = users.name("locked")
    with httpx.Client(base_url=one.url, timeout=30, headers=_from(_address())) as http:
        for _ in range(5):
            wrong = sign_in_form(http, name, "not the password at all")
            assert wrong.status_code == 401
            assert "The name or the password is not right." in wrong.text
        started = time.monotonic()
        locked = sign_in_form(http, name, PASSWORD)
    # From another address too: the count is the account's.
    with httpx.Client(base_url=one.url, timeout=30, headers=_from(_address())) as other:
        assert sign_in_form(other, name, PASSWORD).status_code == 429
    assert locked.status_code == 429, locked.text
    assert "text/html" in locked.headers["content-type"]
    assert "too many failed attempts" in locked.text and 'id="signin-error"' in locked.text
    assert "location" not in locked.headers
    retry_after = int(locked.headers["Retry-After"])
    assert 1 <= retry_after <= 20
    # Once Retry-After has passed the right password works again (and not before).
    with httpx.Client(base_url=one.url, timeout=30, headers=_from(_address())) as later:
        deadline = started + retry_after + 5
        while (answer := sign_in_form(later, name, PASSWORD)).status_code == 429:
            assert time.monotonic() < deadline, "still locked long after Retry-After"
            time.sleep(0.25)  # polling for the unlock the server announced
        waited = time.monotonic() - started
        assert answer.status_code == 303, answer.text
        assert waited >= retry_after - 1.5, f"unlocked after {waited:.1f} s"


def test_key_checks_cost_no_lookup_or_hash_when_they_need_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()
    key = create_key(store, "counted", ["*"])
    lookups: list[str] = []
    hashes: list[str] = []
    find = store.find_key
    hasher = auth_store.HASHER

    class Counting:
        def verify(self, stored: str, secret: str) -> bool:
            hashes.append(secret)
            return hasher.verify(stored, secret)

    monkeypatch.setattr(store, "find_key", lambda key_id: lookups.append(key_id) or find(key_id))
    monkeypatch.setattr(auth_store, "HASHER", Counting())
    settings = Settings(rules_dir=RULES, auth_failures_per_account="3/minute")
    app = create_app(settings, Registry(), users=store)
    with TestClient(app) as client:

        def call(token: str) -> httpx.Response:
            return client.get("/v1/rulesets", headers={"Authorization": f"Bearer {token}"})

        malformed = call("cw_nothex_secret")
        assert_refused(malformed, 401, "cw_<id>_<secret>")
        assert (lookups, hashes) == ([], [])
        assert call(f"cw_{'0' * 16}_{'s' * 43}").status_code == 401  # no such id
        assert (len(lookups), hashes) == (1, [])
        wrong = key[:-3] + "zzz"
        for _ in range(3):
            assert call(wrong).status_code == 401
        assert (len(lookups), len(hashes)) == (4, 3)
        assert_refused(call(wrong), 429, "too many")
        assert_refused(call(key), 429, "too many")  # the right secret, same key id: locked
        assert (len(lookups), len(hashes)) == (4, 3)


# Item 8: the session secret.


def _make_secret(path: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    results.put(secret_key(None, Path(path)))


def test_workers_starting_together_make_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret-key"
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(6), context.Queue()
    workers = [
        context.Process(target=_make_secret, args=(str(path), barrier, results)) for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    keys = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    assert path.read_text().strip() == keys[0]
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret-key"]  # no temporary left


@pytest.mark.parametrize("content", ["", "\n", "short-key\n"])
def test_an_empty_or_short_secret_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "secret-key"
    path.write_text(content)
    with pytest.raises(SecretKeyError, match="32 or more") as refused:
        create_app(Settings(rules_dir=RULES, secret_key_file=path), Registry())
    assert str(path) in str(refused.value)
    assert ("is empty" if not content.strip() else "has 9 characters") in str(refused.value)
    assert "short-key" not in str(refused.value)  # never the key itself


def test_a_short_configured_secret_is_refused_without_showing_it() -> None:
    with pytest.raises(SettingsError, match="CASEWISE_SECRET_KEY") as refused:
        load_settings(secret_key="tiny-but-secret")
    assert "tiny-but-secret" not in str(refused.value) and "32" in str(refused.value)
    with pytest.raises(SecretKeyError, match="CASEWISE_SECRET_KEY has 15 characters"):
        secret_key("tiny-but-secret")


def test_serve_with_an_empty_secret_does_not_start(
    tmp_path: Path, neo4j_server: Neo4jServer
) -> None:
    secret = tmp_path / "secret-key"
    secret.write_text("")
    env = _env(neo4j_server, CASEWISE_SECRET_KEY_FILE=str(secret))
    port = str(free_port())
    started = subprocess.run(
        [str(CASEWISE), "serve", "--port", port, "--rules", str(RULES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 2
    output = " ".join((started.stdout + started.stderr).split())
    assert f"error: the session secret in {secret} is empty; it needs 32 or more" in output
    assert "Traceback" not in output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_two_workers_agree_on_the_secret_they_made(two: tuple[Served, Path], users: Users) -> None:
    served, secret = two
    assert len(secret.read_text().strip()) >= 32 and secret.stat().st_mode & 0o777 == 0o600
    with httpx.Client(base_url=served.url, timeout=30) as http:
        assert sign_in_form(http, users.name("expert"), PASSWORD).status_code == 303
        cookie = http.cookies[COOKIE]
    # New connections land on either worker; a worker with another secret would say 401.
    for _ in range(20):
        answer = httpx.get(f"{served.url}/v1/cases", cookies={COOKIE: cookie}, timeout=30)
        assert answer.status_code != 401, answer.text


# Item 10: sessions end at sign-out; a cookie needs CSRF on the JSON API.


def test_a_copied_cookie_stops_working_at_sign_out(two: tuple[Served, Path], users: Users) -> None:
    served, _ = two
    with httpx.Client(base_url=served.url, timeout=30) as http:
        assert sign_in_form(http, users.name("expert"), PASSWORD).status_code == 303
        copied = http.cookies[COOKIE]
        assert httpx.get(f"{served.url}/v1/cases", cookies={COOKIE: copied}).status_code == 200
        page = http.get("/cases")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        out = http.post("/signout", data={"csrf": token.group(1)}, follow_redirects=False)
        assert out.status_code == 303
    for _ in range(10):  # every worker: new connections
        answer = httpx.get(f"{served.url}/v1/cases", cookies={COOKIE: copied}, timeout=30)
        assert_refused(answer, 401, "sign in")
    page = httpx.get(
        f"{served.url}/cases", cookies={COOKIE: copied}, headers={"Accept": "text/html"}
    )
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")


def test_a_cookie_with_a_text_plain_post_to_the_json_api_is_403(one: Served, users: Users) -> None:
    with httpx.Client(base_url=one.url, timeout=30, headers=_from(_address())) as http:
        assert sign_in_form(http, users.name("author"), PASSWORD).status_code == 303
        plain = {"content-type": "text/plain"}
        body = '{"amount": 120, "department": "IT", "vendor": {"risk": "low"}}'
        refused = http.post(DECIDE, content=body, headers=plain)
        assert_refused(refused, 403, "x-csrf-token")
        assert refused.json()["error"]["code"] == "csrf-failed"
        evil = http.post(DECIDE, json=INVOICE, headers={"Origin": "http://evil.example"})
        assert_refused(evil, 403, "evil.example")
        wrong = http.post(DECIDE, json=INVOICE, headers={"X-CSRF-Token": "guessed"})
        assert_refused(wrong, 403, "not the session's csrf token")
        # The session's token, or a page of this site, will do.
        token = _csrf_of(http)
        with_token = http.post(DECIDE, json=INVOICE, headers={"X-CSRF-Token": token})
        assert with_token.status_code == 200, with_token.text
        same_site = http.post(DECIDE, json=INVOICE, headers={"Origin": one.url})
        assert same_site.status_code == 200, same_site.text
    # A key is not a cookie: no CSRF token needed.
    keyed = httpx.post(
        f"{one.url}{DECIDE}", json=INVOICE, headers={"Authorization": f"Bearer {users.key}"}
    )
    assert keyed.status_code == 200, keyed.text


def test_page_forms_still_work_with_their_token(one: Served, users: Users) -> None:
    with httpx.Client(base_url=one.url, timeout=30, headers=_from(_address())) as http:
        assert sign_in_form(http, users.name("expert"), PASSWORD).status_code == 303
        token = _csrf_of(http)
        url = f"/cases/{users.prefix}none/assign"
        without = http.post(url, data={"assignee": ""}, follow_redirects=False)
        assert_refused(without, 403, "csrf")
        for headers in ({}, {"Origin": one.url}):
            form = {"csrf": token, "assignee": ""}
            answer = http.post(url, data=form, headers=headers, follow_redirects=False)
            assert answer.status_code not in (401, 403), answer.text  # past CSRF: no such case
        cross = http.post(url, data={"csrf": token}, headers={"Origin": "https://evil.example"})
        assert_refused(cross, 403, "evil.example")


# Item 11: the open redirect and Secure cookies.

REDIRECTS = [
    "/\\evil.example",
    "//evil.example",
    "https://evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "http:evil.example",
]


def test_next_never_leads_off_the_site(one: Served, users: Users) -> None:
    site = urlsplit(one.url)
    with httpx.Client(base_url=one.url, timeout=30, headers=_from(_address())) as http:
        for target in REDIRECTS:
            form = http.get("/signin", params={"next": target})
            assert 'name="next" value="/"' in form.text, target
            answer = sign_in_form(http, users.name("expert"), PASSWORD, target)
            assert answer.status_code == 303, answer.text
            landed = urlsplit(urljoin(one.url + "/signin", answer.headers["location"]))
            assert (landed.scheme, landed.netloc) == (site.scheme, site.netloc), target
            assert landed.path == "/", (target, answer.headers["location"])
        kept = sign_in_form(http, users.name("expert"), PASSWORD, "/cases?state=open")
        assert kept.headers["location"] == "/cases?state=open"


def test_cookies_are_secure_behind_tls(one: Served, users: Users) -> None:
    tls = {"X-Forwarded-Proto": "https", **_from(_address())}
    with httpx.Client(base_url=one.url, timeout=30, headers=tls) as http:
        page = http.get("/signin")
        assert "secure" in page.headers["set-cookie"].lower()
        # httpx keeps a Secure cookie for https only: sent by hand, as the proxy would.
        cookie = f"{COOKIE}={page.cookies[COOKIE]}"
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        form = {"name": users.name("expert"), "password": PASSWORD, "csrf": token.group(1)}
        signed_in = http.post("/signin", data=form, headers={"Cookie": cookie})
        assert signed_in.status_code == 303, signed_in.text
        assert "secure" in signed_in.headers["set-cookie"].lower()
    with httpx.Client(base_url=one.url, timeout=30, headers=_from(_address())) as plain:
        assert "secure" not in plain.get("/signin").headers["set-cookie"].lower()


def test_secure_cookies_on_marks_them_always() -> None:
    settings = Settings(rules_dir=RULES, secure_cookies="on")
    with TestClient(create_app(settings, Registry(), users=MemoryStore())) as client:
        assert "secure" in client.get("/signin").headers["set-cookie"].lower()
