"""Serve the bare app (bench/bare_app.py) as `casewise serve --workers N` serves Casewise: uvicorn
workers under the same supervisor, each with a listening socket of its own
(service/http/listeners.py), so both servers get their connections spread alike."""

from __future__ import annotations

import argparse

import uvicorn

from service.http.listeners import Supervisor, spread_sockets


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--log-level", default="info")
    args = p.parse_args()
    config = uvicorn.Config(
        "bench.bare_app:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    Supervisor(config, spread_sockets(config)).run()


if __name__ == "__main__":
    main()
