"""The probe port's answers: node liveness and readiness from the workers' reports, the reports
of dead workers forgotten, and the listener's HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.http import probeport
from service.http.errors import error_body


def report(pid: int, status: int = 200, age: float = 0.2, **body: Any) -> dict[str, Any]:
    if status == 200:
        body = {"status": "ready", "rulesets": 4, **body}
    return {"pid": pid, "status": status, "age": age, "body": body}


def not_ready(pid: int, message: str, age: float = 0.2) -> dict[str, Any]:
    body = error_body("not-ready", message, [{"check": "spool", "message": message}])
    return {"pid": pid, "status": 503, "age": age, "body": body}


def test_ready_when_every_worker_heard_from_lately_is_ready() -> None:
    status, body = probeport.readyz([report(11), report(12, rulesets=3)])
    assert status == 200
    assert body["status"] == "ready" and body["rulesets"] == 3
    assert [w["pid"] for w in body["workers"]] == [11, 12]


def test_one_worker_behind_makes_the_node_not_ready_and_says_why() -> None:
    status, body = probeport.readyz([report(11), not_ready(12, "spool over its high-water mark")])
    assert status == 503
    assert body["error"]["code"] == "not-ready"
    assert "1 of 2 worker(s) not ready: spool over its high-water mark" in body["error"]["message"]
    behind = [w for w in body["error"]["details"] if w["pid"] == 12]
    assert behind[0]["problems"][0]["check"] == "spool"


def test_a_silent_worker_is_left_out_and_none_heard_from_is_not_ready() -> None:
    stale = probeport.STALE_SECONDS + 1
    status, _ = probeport.readyz([report(11), not_ready(12, "graph", age=stale)])
    assert status == 200  # the worker that went silent is not the node's answer
    status, body = probeport.readyz([report(11, age=stale)])
    assert status == 503
    assert "no worker has reported" in body["error"]["message"]
    status, _ = probeport.readyz([])
    assert status == 503


def test_alive_while_a_worker_reports_or_while_starting() -> None:
    assert probeport.healthz([report(11, status=503)], started_ago=300)[0] == 200
    assert probeport.healthz([], started_ago=1)[0] == 200  # workers still loading rules
    status, body = probeport.healthz([], started_ago=probeport.START_GRACE_SECONDS + 1)
    assert status == 503 and "no worker has started" in body["error"]["message"]
    status, body = probeport.healthz([report(11, age=probeport.STALE_SECONDS + 5)], started_ago=300)
    assert status == 503 and "event loop" in body["error"]["message"]


def test_a_report_is_read_back_and_a_dead_workers_is_removed(tmp_path: Path) -> None:
    probeport.write_report(tmp_path, (200, {"status": "ready", "rulesets": 2}))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = probeport.report_path(tmp_path, int(gone.stdout))
    dead.write_text(json.dumps({"pid": int(gone.stdout), "at": time.time(), "status": 200,
                                "body": {}}))  # fmt: skip
    reports = probeport.read_reports(tmp_path)
    assert [r["pid"] for r in reports] == [os.getpid()]
    assert reports[0]["body"]["rulesets"] == 2 and reports[0]["age"] < 5
    assert not dead.exists()
    assert not list(tmp_path.glob("*.part"))  # written whole, by a rename


def test_a_killed_worker_not_yet_reaped_counts_as_dead(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path = probeport.report_path(tmp_path, child.pid)
        path.write_text(json.dumps({"pid": child.pid, "at": time.time(), "status": 200,
                                    "body": {}}))  # fmt: skip
        assert [r["pid"] for r in probeport.read_reports(tmp_path)] == [child.pid]
        child.kill()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not die"
            time.sleep(0.01)
        assert probeport.read_reports(tmp_path) == []  # a zombie: not waited for yet, yet dead
    finally:
        child.kill()
        child.wait()


def test_a_starting_worker_reports_not_ready(tmp_path: Path) -> None:
    probeport.write_report(tmp_path, None)  # its graph's first answer is awaited
    status, body = probeport.readyz(probeport.read_reports(tmp_path))
    assert status == 503 and "starting" in body["error"]["message"]


@pytest.fixture
def listener(tmp_path: Path) -> Any:
    server = probeport.ProbeServer("127.0.0.1", 0, tmp_path)
    server.start()
    yield server
    server.stop()


def test_the_listener_answers_both_probes_and_names_what_it_lacks(listener: Any) -> None:
    probeport.write_report(listener.folder, (200, {"status": "ready", "rulesets": 5}))
    base = f"http://127.0.0.1:{listener.port}"
    with httpx.Client(base_url=base, timeout=5) as client:  # one kept-alive connection
        ready = client.get("/readyz")
        alive = client.get("/healthz")
        missing = client.get("/v1/decisions/invoice-approval")
    assert ready.status_code == 200 and ready.json()["rulesets"] == 5
    assert ready.headers["content-type"] == "application/json"
    assert alive.status_code == 200 and alive.json()["workers"][0]["pid"] == os.getpid()
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not-found"
    assert "/healthz and /readyz" in missing.json()["error"]["message"]


def test_a_port_in_use_is_refused_with_the_port_named(listener: Any) -> None:
    with (
        pytest.raises(probeport.ProbePortError, match=f"127.0.0.1:{listener.port}.*--probe-port"),
        probeport.probe_port("127.0.0.1", listener.port),
    ):
        pass


def test_lower_priority_reaches_every_thread_and_those_started_later() -> None:
    script = """
import os, threading
from pathlib import Path
from service.http.probeport import lower_priority
stop = threading.Event()
threading.Thread(target=stop.wait, daemon=True).start()  # a thread started before
lower_priority(3)
threading.Thread(target=stop.wait, daemon=True).start()  # and one after
tasks = Path("/proc/self/task").iterdir()
print(sorted(os.getpriority(os.PRIO_PROCESS, int(t.name)) for t in tasks))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=30)  # fmt: skip
    base = os.getpriority(os.PRIO_PROCESS, 0)
    niceness = json.loads(done.stdout)  # the main thread, ours, and any the imports started
    assert len(niceness) >= 3 and set(niceness) == {min(19, base + 3)}


def test_the_reports_live_in_memory_where_the_machine_has_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probeport, "MEMORY_FOLDER", str(tmp_path))  # stands for /dev/shm
    with probeport.probe_port("127.0.0.1", 0):
        folder = Path(os.environ[probeport.DIR_ENV])
        assert folder.parent == tmp_path and folder.is_dir()
    assert not folder.exists()  # and it goes with the supervisor


def test_without_a_memory_folder_the_reports_go_to_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probeport, "MEMORY_FOLDER", str(tmp_path / "absent"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with probeport.probe_port("127.0.0.1", 0):
        assert Path(os.environ[probeport.DIR_ENV]).parent == tmp_path
