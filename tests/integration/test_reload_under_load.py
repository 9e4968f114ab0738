"""Rule files change under load: no request fails, and each names the version that decided it.

A real ``casewise serve`` watches its rules folder while another process sends decisions from
threads. The test rewrites the rule file several times (in place, by rename, once broken, once
deleted and put back as an editor does) and reloads through the API and the command line too.
Every version sets the output ``version_no`` to its own number, so a response whose outputs
do not match the version it names would show a request decided by one version and reported
as another.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.rulefiles import BROKEN, rule_text
from tests.serving import CASEWISE, casewise_serve, served_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LOAD_SECONDS = 120  # at the most: the test stops the load when it is done
DECIDED = 100  # requests each version decides under load before the next change


def _wait_serving(url: str, version: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/v1/rulesets/price/status").json().get("version") == version:
            return
        time.sleep(0.05)
    pytest.fail(f"version {version[:12]} not serving after {timeout} s")


def _rows(out: Path) -> list[dict[str, Any]]:
    """The load's lines so far (a line being written is left for the next look)."""
    text = out.read_text() if out.exists() else ""
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line]


def _wait_decided(out: Path, version: str, count: int = DECIDED, timeout: float = 30) -> None:
    """Wait until ``count`` more requests than now have been decided by ``version``."""
    goal = sum(1 for r in _rows(out) if r.get("version") == version) + count
    deadline = time.monotonic() + timeout
    while sum(1 for r in _rows(out) if r.get("version") == version) < goal:
        assert time.monotonic() < deadline, f"version {version[:12]} decided too few requests"
        time.sleep(0.05)


def test_rule_changes_under_load_fail_no_request(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    file = rules / "price.yaml"
    numbers: dict[str, int] = {}

    def write(n: int, *, rename: bool = False) -> str:
        text = rule_text(n).encode()
        numbers[hashlib.sha256(text).hexdigest()] = n
        if rename:  # as editors save: a new file renamed over the old one
            tmp = rules / ".price.yaml.swp"
            tmp.write_bytes(text)
            os.replace(tmp, file)
        else:
            file.write_bytes(text)
        return hashlib.sha256(text).hexdigest()

    v1 = write(1)
    env = served_env() | {
        "CASEWISE_AUTH": "off",
        "CASEWISE_WATCH": "on",
        "CASEWISE_WATCH_DEBOUNCE_MS": "50",
        "CASEWISE_KNOWLEDGE_DIR": str(tmp_path / "knowledge"),
        "CASEWISE_SPOOL_DIR": str(tmp_path / "spool"),
    }
    log = tmp_path / "serve.log"
    out = tmp_path / "load.jsonl"
    with casewise_serve(["--rules", str(rules)], env, log) as url:
        load = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.reload_load", url, "price",
             str(LOAD_SECONDS), "8", str(out)],
            cwd=ROOT,
        )  # fmt: skip
        _wait_decided(out, v1)
        v2 = write(2)
        _wait_serving(url, v2)  # the watcher reloads it
        _wait_decided(out, v2)
        v3 = write(3, rename=True)
        _wait_serving(url, v3)
        _wait_decided(out, v3)
        file.write_text(BROKEN)  # refused: version 3 keeps serving
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/v1/rulesets/price/status").json()["state"] != "refused":
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        status = httpx.get(f"{url}/v1/rulesets/price/status").json()
        assert status["version"] == v3
        assert status["errors"][0]["text"].startswith(f"{file}:3:18: ")
        _wait_decided(out, v3)  # still deciding
        v4 = write(4)
        reloaded = httpx.post(f"{url}/v1/rulesets/reload", timeout=30).json()
        assert [o["version"] for o in reloaded["rulesets"]] == [v4]  # changed or unchanged
        _wait_decided(out, v4)
        v5 = write(5, rename=True)
        cli = subprocess.run(
            [str(CASEWISE), "rules", "reload", "--url", url],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert v5[:12] in cli.stdout
        _wait_decided(out, v5)
        file.unlink()  # an editor deleting and writing back: not retired
        time.sleep(0.02)  # the editor's gap between the two, well inside the settle time
        v6 = write(6)
        _wait_serving(url, v6)
        _wait_decided(out, v6)
        Path(f"{out}.stop").touch()
        assert load.wait(timeout=30) == 0
        retired = httpx.get(f"{url}/v1/rulesets/status").json()["rulesets"]
        assert [s["state"] for s in retired] == ["serving"]
    rows = _rows(out)
    failed = [r for r in rows if r["status"] != 200]
    assert failed == [], failed[:5]
    wrong = [r for r in rows if numbers.get(r["version"]) != r["version_no"]]
    assert wrong == [], wrong[:5]
    served = {r["version_no"] for r in rows}
    assert served == {1, 2, 3, 4, 5, 6}, served
    seconds = max(r["t"] for r in rows) - min(r["t"] for r in rows)
    rate = len(rows) / seconds
    print(f"{len(rows)} decisions in {seconds:.1f} s ({rate:.0f}/s) over 6 versions")
    assert rate >= 200, f"only {rate:.0f} requests a second"
    text = log.read_text()
    assert f"{file}:3:18: " in text and "version " + v3[:12] + " keeps serving" in text
