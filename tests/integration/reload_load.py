"""Load for the reload test, run as its own process: decisions from threads, one line each.

``python -m tests.integration.reload_load URL RULESET SECONDS THREADS OUT`` posts decisions
to URL from THREADS threads until the file ``OUT.stop`` exists (SECONDS at the most) and
writes to OUT as it goes, for every request, a JSON line with the time, the status, the
version the response names and the ``version_no`` output it carries; so the test can wait
until a version has decided requests.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx


def _worker(
    url: str, ruleset: str, stop: threading.Event, n: int, out: IO[str], lock: threading.Lock
) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        i = 0
        while not stop.is_set():
            i += 1
            row: dict[str, object] = {"t": time.monotonic()}
            try:
                response = client.post(f"/v1/decisions/{ruleset}", json={"amount": (n + i) % 90})
                row["status"] = response.status_code
                body = response.json()
                row["version"] = body.get("version")
                row["version_no"] = (body.get("outputs") or {}).get("version_no")
                if response.status_code != 200:
                    row["error"] = body
            except (httpx.HTTPError, ValueError) as exc:
                row["status"] = 0
                row["error"] = repr(exc)
            with lock:
                out.write(json.dumps(row) + "\n")
                out.flush()


def main(url: str, ruleset: str, seconds: str, threads: str, out: str) -> None:
    until = time.monotonic() + float(seconds)
    stop_file = Path(out + ".stop")
    stop = threading.Event()
    lock = threading.Lock()
    with open(out, "w") as file:
        workers = [
            threading.Thread(target=_worker, args=(url, ruleset, stop, n, file, lock))
            for n in range(int(threads))
        ]
        for worker in workers:
            worker.start()
        while not stop_file.exists() and time.monotonic() < until:
            time.sleep(0.05)
        stop.set()
        for worker in workers:
            worker.join()


if __name__ == "__main__":
    main(*sys.argv[1:])
