"""Load for the reload test, run as its own process: decisions from threads, one line each.

``python -m tests.integration.reload_load URL RULESET SECONDS THREADS OUT`` posts decisions
to URL for SECONDS from THREADS threads and writes, for every request, a JSON line with the
status, the version the response names and the ``version_no`` output it carries.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def _worker(url: str, ruleset: str, until: float, n: int, lines: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        i = 0
        while time.monotonic() < until:
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
            lines.append(json.dumps(row))


def main(url: str, ruleset: str, seconds: str, threads: str, out: str) -> None:
    until = time.monotonic() + float(seconds)
    lines: list[str] = []
    workers = [
        threading.Thread(target=_worker, args=(url, ruleset, until, n, lines))
        for n in range(int(threads))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with open(out, "w") as file:
        file.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
