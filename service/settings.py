"""Casewise settings, read once from the environment (prefix ``CASEWISE_``).

Every setting is listed in docs/configuration.md. A bad value fails at start-up with the
variable's name, e.g. ``CASEWISE_PORT: Input should be a valid integer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, FilePath, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.engine import limits
from service.engine.loader import use_engine
from service.kernel.errors import CasewiseError

ENV_PREFIX = "CASEWISE_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(CasewiseError):
    """An environment variable holds a value Casewise cannot use."""

    code = "invalid-settings"


class Settings(BaseSettings):
    """Typed configuration of the service and the command line."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        validate_default=True,
        # Overrides and tests pass fields by name; the NEO4J_* variables are read by alias.
        validate_by_name=True,
        validate_by_alias=True,
    )

    rules_dir: Path = Field(Path("rules"), description="Folder of rule files to serve.")
    knowledge_dir: Path = Field(
        Path("knowledge"), description="Folder of case knowledge (graph schema, playbooks)."
    )
    host: str = Field("127.0.0.1", min_length=1, description="Address `casewise serve` binds.")
    port: int = Field(8000, ge=1, le=65535, description="Port `casewise serve` listens on.")
    max_batch: int = Field(1000, ge=1, description="Most items in one batch request.")
    max_body_bytes: int = Field(1024 * 1024, ge=1, description="Largest request body in bytes.")
    max_firings: int = Field(
        1000, ge=1, description="Most rule firings in one decision (runaway-chain limit)."
    )
    engine: Literal["compiled", "durable"] = Field(
        "compiled",
        description="Engine of rule files that name none: compiled (default) or durable.",
    )
    log_level: LogLevel = Field("INFO", description="Logging level.")
    # Neo4j's own variable names, as its tools and docs use them; CASEWISE_NEO4J_* work too.
    neo4j_uri: str | None = Field(
        default=None,
        min_length=1,
        validation_alias=AliasChoices("NEO4J_URI", "CASEWISE_NEO4J_URI"),
        description="Bolt URI of the case graph; unset: no case graph (decisions only).",
    )
    neo4j_user: str = Field(
        default="neo4j", validation_alias=AliasChoices("NEO4J_USER", "CASEWISE_NEO4J_USER")
    )
    neo4j_password: SecretStr = Field(
        default=SecretStr("neo4j"),
        validation_alias=AliasChoices("NEO4J_PASSWORD", "CASEWISE_NEO4J_PASSWORD"),
    )
    neo4j_database: str = Field(
        default="neo4j",
        min_length=1,
        validation_alias=AliasChoices("NEO4J_DATABASE", "CASEWISE_NEO4J_DATABASE"),
    )
    neo4j_ca_file: FilePath | None = Field(
        default=None,
        description="PEM file of the CA that signed Neo4j's certificate: Bolt over TLS, "
        "verified against it (docs/deployment.md).",
    )
    link_depth: int = Field(
        default=2, ge=1, le=4, description="Default and largest depth of GET /v1/cases/{id}/links."
    )
    recommend_refresh_seconds: float = Field(
        default=10,
        ge=0,
        le=3600,
        description="How often the background refresh looks for cases changed since they were "
        "last recommended (a case written through the API is refreshed at once); 0: never.",
    )
    suggest_min_rate: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="Override rate from which `casewise rules suggest` proposes a rule change.",
    )
    suggest_min_decisions: int = Field(
        default=5, ge=1, description="Fewest expert decisions on a rule before it is judged."
    )
    suggest_no_action_outcomes: str = Field(
        default="no-action,no_action,close-no-action,dismissed,unfounded",
        min_length=1,
        description="Comma-separated case outcomes meaning the escalation was not needed.",
    )

    fact_query_timeout_ms: int = Field(
        default=5000,
        ge=10,
        le=600_000,
        description="Longest the fact queries of one case may run (one read transaction).",
    )
    fact_query_max_rows: int = Field(
        default=1, ge=1, le=10_000, description="Most rows a fact query may give; more is an error."
    )

    spool_dir: Path = Field(
        Path("var/spool"),
        description="Durable local spool: what waits there until Neo4j takes it (versions/, ...).",
    )
    warmup: Literal["on", "off"] = Field(
        default="on",
        description="`on`: load and learn at start-up what the first case page would wait for.",
    )
    documents_dir: Path = Field(
        Path("var/documents"),
        description="Where documents attached to cases are kept, each file named by its SHA-256.",
    )
    max_document_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest document that may be attached to a case (a larger upload is a 413).",
    )
    watch: Literal["on", "off"] = Field(
        default="on", description="`on`: reload rule files, playbooks, catalogue when they change."
    )
    watch_debounce_ms: int = Field(
        default=300, ge=10, le=60_000, description="Quiet time after a change before reloading."
    )
    max_rule_file_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest rule, playbook or catalogue file; a larger one is refused unread.",
    )
    compile_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds one rule file may take to load; a slower one is refused.",
    )

    decision_log: Literal["on", "off"] = Field(
        default="on",
        description="`on`: record every routing decision (spool, then Neo4j); `off`: none.",
    )

    auth: Literal["on", "off"] = Field(
        default="on",
        description="`off` serves every route to anyone (development and tests only).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Signs the session cookies; unset: a key generated into var/secret-key.",
    )
    secret_key_file: Path = Field(
        Path("var/secret-key"),
        description="Where the generated session secret is kept when CASEWISE_SECRET_KEY is unset.",
    )
    secure_cookies: Literal["auto", "on"] = Field(
        default="auto",
        description="`auto`: session cookies are Secure on HTTPS requests; `on`: always.",
    )
    auth_failures_per_client: str = Field(
        default="30/minute",
        description="Failed sign-ins and bad API keys from one address before 429 (limits syntax).",
    )
    auth_failures_per_account: str = Field(
        default="10/15 minutes",
        description="Failed sign-ins for one user name, or bad secrets for one key id, before 429.",
    )
    auth_concurrent_hashes: int = Field(
        default=2, ge=1, le=64, description="Most argon2 checks one server process runs at once."
    )

    # Overload (service/http/admission.py) and what an operator watches (service/http/metrics.py,
    # service/http/requestlog.py).
    max_in_flight: int = Field(
        default=32, ge=1, le=10_000, description="Most requests one worker serves at once."
    )
    max_queue: int = Field(
        default=64,
        ge=0,
        le=100_000,
        description="Most requests waiting for a slot in one worker; more are answered 503.",
    )
    queue_timeout_ms: int = Field(
        default=250,
        ge=1,
        le=60_000,
        description="Longest a request waits for a slot before it is answered 503.",
    )
    rate_per_key: str | None = Field(
        default=None,
        description="Requests one API key may make per worker (limits syntax, e.g. "
        "'200/second'); more are answered 429. Unset: no limit.",
    )
    spool_high_water_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1,
        description="Decision records waiting in a worker's spool above which /readyz is 503.",
    )
    probe_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`casewise serve`: a second port, on the same address, where the supervisor "
        "answers /healthz and /readyz for all its workers, however loaded they are.",
    )
    worker_nice: int = Field(
        default=0,
        ge=0,
        le=19,
        description="Niceness added to each worker process. With CASEWISE_PROBE_PORT, 5 keeps "
        "the supervisor that answers the probes first in line for a core on a saturated node.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: one JSON line per log record and per request."
    )

    @field_validator("auth_failures_per_client", "auth_failures_per_account", "rate_per_key")
    @classmethod
    def _rate_limit(cls, value: str | None) -> str | None:
        from limits import parse

        if value is None:
            return None
        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(
                f"not a rate limit like '30/minute' or '10 per 15 minutes' ({exc})"
            ) from exc
        return value

    @field_validator(
        "neo4j_uri", "secret_key", "neo4j_ca_file", "rate_per_key", "probe_port", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("auth", "watch", "decision_log", "secure_cookies", "log_format", mode="before")
    @classmethod
    def _lower_auth(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def configure_limits(settings: Settings) -> None:
    """Make every later rule-file load use the size and time limits of ``settings``."""
    limits.configure(
        max_file_bytes=settings.max_rule_file_bytes, compile_timeout_s=settings.compile_timeout_s
    )


def load_settings(**overrides: object) -> Settings:
    """Give the settings from the environment, with ``overrides`` taking precedence.

    Raises SettingsError naming each bad variable (``CASEWISE_PORT: ...``).
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(part) for part in err["loc"]).upper()
            if not name.startswith(("NEO4J_", ENV_PREFIX)):
                name = ENV_PREFIX + name
            secret = "PASSWORD" in name or "SECRET" in name
            value = "***" if secret else repr(err.get("input"))
            lines.append(f"{name}: {err['msg']} (got {value})")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from exc
    use_engine(settings.engine)
    return settings
