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

import httpx
import pytest

from tests.serving import CASEWISE, casewise_serve, served_env
from tests.unit.test_reload import BROKEN, rule_text

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LOAD_SECONDS = 14


def _wait_serving(url: str, version: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/v1/rulesets/price/status").json().get("version") == version:
            return
        time.sleep(0.05)
    pytest.fail(f"version {version[:12]} not serving after {timeout} s")


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

    write(1)
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
        time.sleep(1.5)
        _wait_serving(url, write(2))  # the watcher reloads it
        time.sleep(1)
        v3 = write(3, rename=True)
        _wait_serving(url, v3)
        time.sleep(1)
        file.write_text(BROKEN)  # refused: version 3 keeps serving
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/v1/rulesets/price/status").json()["state"] != "refused":
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        status = httpx.get(f"{url}/v1/rulesets/price/status").json()
        assert status["version"] == v3
        assert status["errors"][0]["text"].startswith(f"{file}:3:18: ")
        time.sleep(1)
        v4 = write(4)
        reloaded = httpx.post(f"{url}/v1/rulesets/reload", timeout=30).json()
        assert [o["version"] for o in reloaded["rulesets"]] == [v4]  # changed or unchanged
        time.sleep(1)
        v5 = write(5, rename=True)
        cli = subprocess.run(
            [str(CASEWISE), "rules", "reload", "--url", url],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert v5[:12] in cli.stdout
        time.sleep(1)
        file.unlink()  # an editor deleting and writing back: not retired
        time.sleep(0.02)
        v6 = write(6)
        _wait_serving(url, v6)
        assert load.wait(timeout=LOAD_SECONDS + 30) == 0
        retired = httpx.get(f"{url}/v1/rulesets/status").json()["rulesets"]
        assert [s["state"] for s in retired] == ["serving"]
    rows = [json.loads(line) for line in out.read_text().splitlines() if line]
    failed = [r for r in rows if r["status"] != 200]
    assert failed == [], failed[:5]
    wrong = [r for r in rows if numbers.get(r["version"]) != r["version_no"]]
    assert wrong == [], wrong[:5]
    served = {r["version_no"] for r in rows}
    assert served >= {1, 2, 3, 4, 5}, served
    rate = len(rows) / LOAD_SECONDS
    print(f"{len(rows)} decisions in {LOAD_SECONDS} s ({rate:.0f}/s) over 6 versions")
    assert rate >= 200, f"only {rate:.0f} requests a second"
    text = log.read_text()
    assert f"{file}:3:18: " in text and "version " + v3[:12] + " keeps serving" in text
