"""CASEWISE_LOG_FORMAT=json: every line a served process logs is JSON, the libraries' too.

The neo4j driver once wrote "[#C9A2]  _: <CONNECTION> error: Failed to read from defunct
connection ..." as plain text into a JSON log: its logger had no handler, so Python's last-resort
handler wrote the bare message. Here a process sets its logging up as each `casewise serve`
process does (uvicorn applies ``json_log_config``, then ``create_app``), logs through the
libraries' loggers and Python's warnings, and every line it wrote must parse as JSON, each
record exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.fixtures import RULES
from tests.serving import served_env

SERVED = textwrap.dedent(
    """
    import logging, sys

    import uvicorn

    from service.app import create_app
    from service.http.logsetup import json_log_config
    from service.settings import Settings

    rules, spool = sys.argv[1], sys.argv[2]
    # as service/cli.py's serve: uvicorn applies the log config in every process it starts
    uvicorn.Config(
        "service.app:create_app", factory=True, log_level="info",
        log_config=json_log_config("INFO"), access_log=False,
    )
    create_app(Settings(
        rules_dir=rules, watch="off", spool_dir=spool, neo4j_uri=None, log_format="json",
    ))
    logging.getLogger("neo4j.io").error(
        "[#C9A2]  _: <CONNECTION> error: Failed to read from defunct connection"
    )
    logging.getLogger("neo4j").warning("neo4j says %s", "hello")
    logging.getLogger("asyncio").error("Task exception was never retrieved")
    logging.getLogger("uvicorn.error").info("Started server process [1]")
    logging.getLogger("uvicorn.asgi").warning("an ASGI warning")
    logging.getLogger("uvicorn").error("uvicorn says hello")
    logging.getLogger("casewise.api").info("casewise says hello")
    logging.getLogger().error("the root logger says hello")
    logging.warning("a bare logging.warning")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("some.library").exception("a library's traceback")
    import warnings
    warnings.warn("a library warns", UserWarning)
    """
)

EXPECTED = {
    "[#C9A2]  _: <CONNECTION> error: Failed to read from defunct connection": "neo4j.io",
    "neo4j says hello": "neo4j",
    "Task exception was never retrieved": "asyncio",
    "Started server process [1]": "uvicorn.error",
    "an ASGI warning": "uvicorn.asgi",
    "uvicorn says hello": "uvicorn",
    "casewise says hello": "casewise.api",
    "the root logger says hello": "root",
    "a bare logging.warning": "root",
    "a library's traceback": "some.library",
}


def test_every_line_a_served_process_logs_is_json_library_loggers_too(tmp_path: Path) -> None:
    env = served_env() | {"CASEWISE_LOG_FORMAT": "json"}
    done = subprocess.run(
        [sys.executable, "-c", SERVED, str(RULES), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    written = [text for text in (done.stderr + done.stdout).splitlines() if text.strip()]
    lines: list[dict[str, Any]] = []
    for text in written:
        try:
            lines.append(json.loads(text))
        except ValueError:
            raise AssertionError(f"not a JSON line: {text!r}\nall lines: {written}") from None
    said = [line["message"] for line in lines if line["message"] in EXPECTED]
    assert sorted(said) == sorted(EXPECTED), f"each record once: {lines}"
    for line in lines:
        if line["message"] in EXPECTED:
            assert line["logger"] == EXPECTED[line["message"]]
            assert line["level"] in ("INFO", "WARNING", "ERROR") and line["time"]
    traceback = next(line for line in lines if line["logger"] == "some.library")
    assert "ValueError: boom" in traceback["exception"]
    warned = [line for line in lines if line["logger"] == "py.warnings"]
    assert len(warned) == 1 and "UserWarning: a library warns" in warned[0]["message"], lines
