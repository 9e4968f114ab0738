"""Access to Neo4j: one driver for the process, managed transactions, errors translated.

Errors (all ``CasewiseError``)::

    GraphError              a query failed (bad Cypher, constraint broken, ...)
    ├── GraphUnavailable    the server cannot be reached, refuses the login, or is too old
    └── CaseNotFound        (service.graph.cases) a write or read names an unknown case

Every statement is a ``LiteralString`` constant with ``$parameters``; ``read`` and ``write``
run it in ``session.execute_read`` / ``execute_write``, so the driver retries transient errors
(a leader switch, a deadlock) and callers never see them.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, LiteralString, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from service.kernel import metrics
from service.kernel.errors import CasewiseError

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger("casewise.graph")

# COLLECT subqueries, which the reads use, came in Neo4j 5.6.
MIN_VERSION = (5, 6)
# How long a transaction is retried on transient errors, and how long a connection attempt may
# take: a 503 when Neo4j is down should come in seconds, not after the driver's default 30 s.
RETRY_SECONDS = 5.0
CONNECT_SECONDS = 5.0

T = TypeVar("T")
Row = dict[str, Any]
Step = tuple[LiteralString, dict[str, Any]]


class GraphError(CasewiseError):
    """A graph query failed."""

    code = "graph-error"
    status = 500

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class GraphUnavailable(GraphError):
    """Neo4j cannot be reached or used (down, wrong credentials, too old, not configured)."""

    code = "graph-unavailable"
    status = 503


class UnsupportedServer(GraphUnavailable):
    """The server is not Neo4j, or a Neo4j too old for Casewise's queries."""


def check_agent(agent: str, uri: str) -> str:
    """Give ``agent`` (``Neo4j/5.26.0``) if Casewise can use that server; else UnsupportedServer."""
    match = re.match(r"Neo4j/(\d+)\.(\d+)", agent)
    if match is None:
        raise UnsupportedServer(f"server at {uri} is not Neo4j (agent {agent!r})")
    if (int(match.group(1)), int(match.group(2))) < MIN_VERSION:
        raise UnsupportedServer(
            f"Neo4j at {uri} runs {agent}; Casewise needs Neo4j "
            f"{MIN_VERSION[0]}.{MIN_VERSION[1]} or later (upgrade the server, "
            "or point NEO4J_URI at a newer one)"
        )
    return agent


# Schemes that carry TLS and trust the system's CAs; with a CA file, the plain scheme plus
# ``encrypted`` and ``trusted_certificates`` do the same with that CA (the driver refuses both).
SECURE_SCHEMES = {"bolt+s": "bolt", "neo4j+s": "neo4j"}


def driver_options(uri: str, ca_file: Path | None) -> tuple[str, dict[str, Any]]:
    """Give the URI and driver options for ``uri``; with ``ca_file``, TLS that trusts only it.

    ``bolt+s://`` and ``neo4j+s://`` trust the system's CAs; a CA file (PEM; for a self-signed
    server, its certificate) makes ``bolt[+s]://`` and ``neo4j[+s]://`` encrypted and verified
    against that file, host name included. ``+ssc`` (any certificate) takes no CA file.
    """
    if ca_file is None:
        return uri, {}
    scheme, sep, rest = uri.partition("://")
    if scheme.endswith("+ssc"):
        raise GraphUnavailable(
            f"NEO4J_URI {uri!r} trusts any certificate (+ssc), so CASEWISE_NEO4J_CA_FILE "
            f"({ca_file}) would not be checked; use {scheme.replace('+ssc', '+s')}://{rest}"
        )
    if not ca_file.is_file():
        raise GraphUnavailable(
            f"CASEWISE_NEO4J_CA_FILE {ca_file} is not a file; give the PEM file of the CA that "
            "signed the Neo4j server's certificate (for a self-signed one, the certificate)"
        )
    plain = SECURE_SCHEMES.get(scheme, scheme)
    options = {"encrypted": True, "trusted_certificates": neo4j.TrustCustomCAs(str(ca_file))}
    return f"{plain}{sep}{rest}", options


def _translate(exc: Exception, uri: str) -> GraphError:
    if isinstance(exc, neo4j_errors.AuthError):
        return GraphUnavailable(
            f"Neo4j at {uri} refused the login: {exc.message}; check NEO4J_USER and "
            "NEO4J_PASSWORD (the local Neo4j's password is in var/neo4j/password, or the "
            "data folder's; tools/neo4j/with-neo4j.sh CMD sets both for CMD)"
        )
    if isinstance(exc, neo4j_errors.ServiceUnavailable | neo4j_errors.SessionExpired):
        return GraphUnavailable(
            f"Neo4j at {uri} is not reachable ({exc}); start it (`casewise neo4j start`) "
            "or check NEO4J_URI"
        )
    if isinstance(exc, neo4j_errors.Neo4jError):
        return GraphError(f"graph query failed: {exc.code}: {exc.message}")
    return GraphUnavailable(f"Neo4j driver error talking to {uri}: {exc}")


class Graph:
    """The case graph: one driver, one database, read and write helpers."""

    def __init__(self, driver: neo4j.Driver, database: str, uri: str = "neo4j") -> None:
        self.driver = driver
        self.database = database
        self.uri = uri

    @classmethod
    def open(
        cls, uri: str, user: str, password: str, database: str, ca_file: Path | None = None
    ) -> Graph:
        """Give a Graph on a new driver (TLS trusting ``ca_file`` if given); nothing sent yet."""
        target, tls = driver_options(uri, ca_file)
        try:
            driver = neo4j.GraphDatabase.driver(
                target,
                auth=(user, password),
                max_transaction_retry_time=RETRY_SECONDS,
                connection_timeout=CONNECT_SECONDS,
                connection_acquisition_timeout=CONNECT_SECONDS * 2,
                # "unknown label/property" notes are normal on a graph still filling up.
                notifications_disabled_categories=["UNRECOGNIZED"],
                **tls,
            )
        except (ValueError, neo4j_errors.ConfigurationError) as exc:
            raise GraphUnavailable(f"NEO4J_URI {uri!r} is not a Neo4j URI: {exc}") from exc
        return cls(driver, database, uri)

    @classmethod
    def connect(
        cls, uri: str, user: str, password: str, database: str, ca_file: Path | None = None
    ) -> Graph:
        """Give a Graph whose server answered and runs Neo4j 5.6 or later."""
        graph = cls.open(uri, user, password, database, ca_file)
        try:
            graph.check_server()
        except BaseException:
            graph.close()
            raise
        return graph

    def check_server(self) -> str:
        """Give the server's agent string; GraphUnavailable if unreachable or older than 5.6."""
        try:
            info = self.driver.get_server_info()
        except Exception as exc:
            raise _translate(exc, self.uri) from exc
        return check_agent(info.agent or "", self.uri)

    def _run(self, access: str, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        attempts = 0
        started = time.perf_counter()

        @functools.wraps(work)  # keeps a unit_of_work's timeout
        def counted(tx: neo4j.ManagedTransaction) -> T:
            nonlocal attempts
            attempts += 1  # the driver calls it again after a transient error
            if attempts == 1:  # the pool gave a connection and the transaction has begun
                metrics.GRAPH_ACQUIRE_SECONDS.labels(access).observe(time.perf_counter() - started)
            return work(tx)

        metrics.GRAPH_SESSIONS_IN_USE.inc()
        try:
            with self.driver.session(database=self.database) as session:
                if access == "read":
                    return session.execute_read(counted)
                return session.execute_write(counted)
        except GraphError:
            raise
        except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
            raise _translate(exc, self.uri) from exc
        finally:
            metrics.GRAPH_SESSIONS_IN_USE.dec()
            metrics.GRAPH_SECONDS.labels(access).observe(time.perf_counter() - started)
            metrics.GRAPH_TRANSACTIONS.labels(access).inc()
            if attempts > 1:
                metrics.GRAPH_RETRIES.labels(access).inc(attempts - 1)

    def read(self, query: LiteralString, **params: Any) -> list[Row]:
        """Give the rows of a read-only query (retried on transient errors)."""

        def work(tx: neo4j.ManagedTransaction) -> list[Row]:
            return tx.run(query, params).data()

        return self._run("read", work)

    def write(self, query: LiteralString, **params: Any) -> list[Row]:
        """Run a writing query in its own transaction; give its rows."""

        def work(tx: neo4j.ManagedTransaction) -> list[Row]:
            return tx.run(query, params).data()

        return self._run("write", work)

    def write_many(self, steps: list[Step]) -> list[list[Row]]:
        """Run several statements in ONE transaction: all of them are written, or none."""

        def work(tx: neo4j.ManagedTransaction) -> list[list[Row]]:
            return [tx.run(query, params).data() for query, params in steps]

        return self._run("write", work)

    def transaction(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work`` in one managed write transaction (reads and writes that must agree)."""
        return self._run("write", work)

    def read_transaction(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work`` in one managed read transaction (several reads that must agree)."""
        return self._run("read", work)

    def close(self) -> None:
        """Close the driver and its connections."""
        self.driver.close()


class GraphHandle:
    """The service's graph: none when NEO4J_URI is unset; checked and schema'd before first use.

    When Neo4j is down at start-up the service still starts (decisions do not need it); the
    version check and the schema then run on the first request that needs the graph.
    """

    def __init__(self, graph: Graph | None, schema: Path) -> None:
        self.graph = graph
        self.schema = schema
        self.ready = False
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self.graph is not None

    def prepare(self) -> Graph:
        """Check the server and apply the schema once; give the graph (GraphUnavailable if not)."""
        if self.graph is None:
            raise GraphUnavailable(
                "the case graph is not configured: set NEO4J_URI (and NEO4J_USER, "
                "NEO4J_PASSWORD, NEO4J_DATABASE) to a Neo4j 5 server and restart Casewise"
            )
        if not self.ready:
            with self._lock:
                if not self.ready:
                    agent = self.graph.check_server()
                    count = apply_schema(self.graph, self.schema)
                    log.info(
                        "case graph at %s (%s) ready; %d schema statement(s)",
                        self.graph.uri,
                        agent,
                        count,
                    )
                    self.ready = True
        return self.graph

    def close(self) -> None:
        if self.graph is not None:
            self.graph.close()


NOT_CONFIGURED = (
    "NEO4J_URI is not set, so there is no case graph. Start the local Neo4j with "
    "`casewise neo4j start` and set NEO4J_URI=bolt://127.0.0.1:7687 (or point NEO4J_URI at "
    "your Neo4j server)."
)


class GraphNotConfigured(GraphUnavailable):
    """No NEO4J_URI: Casewise runs without a case graph."""


def connect_from(settings: Settings) -> Graph:
    """The graph the settings point at; GraphNotConfigured without NEO4J_URI."""
    if not settings.neo4j_uri:
        raise GraphNotConfigured(NOT_CONFIGURED)
    return Graph.connect(
        settings.neo4j_uri,
        settings.neo4j_user,
        settings.neo4j_password.get_secret_value(),
        settings.neo4j_database,
        settings.neo4j_ca_file,
    )


def schema_statements(path: Path) -> list[str]:
    """Give the statements of a ``.cypher`` file: split on ``;``, ``//`` comments dropped."""
    text = "\n".join(
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("//")
    )
    return [statement.strip() for statement in text.split(";") if statement.strip()]


SAME_SCHEMA_RULE = "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists"


def apply_schema(graph: Graph, path: Path) -> int:
    """Run every statement of the schema file (each ``IF NOT EXISTS``); give their number."""
    statements = schema_statements(path)
    for statement in statements:
        try:
            # The schema file is authored content shipped with the service, not user input.
            graph.write(statement)  # type: ignore[arg-type,unused-ignore]
        except GraphError as exc:
            # Another process (a second worker starting on an empty graph) made the same index
            # or constraint at the same moment: IF NOT EXISTS does not cover that race.
            if SAME_SCHEMA_RULE not in exc.message:
                raise
    log.info("graph schema applied: %d statement(s) from %s", len(statements), path)
    return len(statements)
