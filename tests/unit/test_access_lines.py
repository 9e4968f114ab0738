"""The text access log: `casewise serve` writes uvicorn's access line, the same text, cheaper.

``AccessLineFormatter`` makes the line without uvicorn's two copies of each record; an operator
reading or parsing the log must see no difference. Each line is compared with the one uvicorn's
own ``AccessFormatter`` makes of the same record, as `casewise serve` configures it.
"""

from __future__ import annotations

import logging
import logging.config

import pytest
from uvicorn.logging import AccessFormatter

from service.http.logsetup import AccessLineFormatter, text_log_config

ARGS = [
    ("127.0.0.1:50412", "POST", "/v1/decisions/invoice-approval", "1.1", 200),
    ("10.0.0.7:1", "GET", "/v1/decisions?version=abc&limit=5", "1.1", 503),
    ("[::1]:8080", "GET", "/healthz", "1.0", 404),
    ("127.0.0.1:9", "PUT", "/x", "2", 599),  # no phrase: uvicorn writes "599 "
]


def record(args: tuple[object, ...], level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", level, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                             args, None)  # fmt: skip


@pytest.mark.parametrize("args", ARGS)
@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING])
@pytest.mark.parametrize("colours", [False, True])
def test_the_access_line_is_uvicorns_text(
    args: tuple[object, ...], level: int, colours: bool
) -> None:
    settings = text_log_config()["formatters"]["access"]
    ours = AccessLineFormatter(fmt=settings["fmt"], use_colors=colours)
    theirs = AccessFormatter(fmt=settings["fmt"], use_colors=colours)
    assert ours.format(record(args, level)) == theirs.format(record(args, level))


def test_serve_configures_the_access_log_with_it_and_nothing_else_changes() -> None:
    import uvicorn.config

    config = text_log_config()
    assert config["formatters"]["access"]["()"] == "service.http.logsetup.AccessLineFormatter"
    uvicorns = uvicorn.config.LOGGING_CONFIG
    assert uvicorns["formatters"]["access"]["()"] == "uvicorn.logging.AccessFormatter"  # kept
    config["formatters"]["access"].pop("()")
    rest = {**uvicorns["formatters"]["access"]}
    rest.pop("()")
    assert config["formatters"]["access"] == rest
    assert {k: v for k, v in config.items() if k != "formatters"} == {
        k: v for k, v in uvicorns.items() if k != "formatters"
    }
    # the path resolves as dictConfig resolves it (not applied here: it is process-wide)
    path = text_log_config()["formatters"]["access"]["()"]
    assert logging.config.BaseConfigurator({}).resolve(path) is AccessLineFormatter
