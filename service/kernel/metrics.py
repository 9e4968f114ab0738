"""Every Prometheus metric Casewise records, defined once (served at ``/metrics``).

Defined in the kernel so that any layer may record one (``metrics.FLUSH_BATCH.observe(n)``);
``service.http.metrics`` serves them and samples the gauges. With ``casewise serve --workers N``
each worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode, which ``casewise serve`` sets up) and ``/metrics``, whichever worker answers,
adds them up: counters and histograms summed over the workers, the per-worker gauges labelled
with the worker's ``pid``.

Labels stay few: a ruleset name and version, an outcome or error code, a route template; never
an id or an input.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds: a decision takes tens of microseconds, an HTTP answer about a millisecond, a graph
# transaction milliseconds; a shed or queued request is bounded by CASEWISE_QUEUE_TIMEOUT_MS.
FAST = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
SLOW = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

DECISIONS = Counter(
    "casewise_decisions",
    "Decisions answered, by ruleset, version (sha256 prefix) and outcome "
    "(decided, case: opened a case, dry-run: an author's).",
    ["ruleset", "version", "outcome"],
)
DECISION_SECONDS = Histogram(
    "casewise_decision_seconds",
    "Time the engine took for one decision (input check and rules), by ruleset.",
    ["ruleset"],
    buckets=FAST,
)
HTTP_SECONDS = Histogram(
    "casewise_http_request_seconds",
    "Time from a request's arrival in the app to its answer, by method, route template and "
    "status (shed and refused requests too).",
    ["method", "route", "status"],
    buckets=SLOW,
)
ERRORS = Counter(
    "casewise_errors", "Error answers, by error code and HTTP status.", ["code", "status"]
)
SHED = Counter(
    "casewise_shed_requests",
    "Requests refused by admission control, by reason (queue-full, queue-timeout: 503, the "
    "latter also when the worker's event loop already ran later than the queue timeout; "
    "key-rate: 429).",
    ["reason"],
)
IN_FLIGHT = Gauge(
    "casewise_in_flight_requests",
    "Requests being served by a worker (sampled).",
    multiprocess_mode="liveall",
)
QUEUED = Gauge(
    "casewise_queued_requests",
    "Requests waiting for a slot in a worker (sampled).",
    multiprocess_mode="liveall",
)
EVENT_LOOP_LAG = Gauge(
    "casewise_event_loop_lag_seconds",
    "How late a worker's event loop ran at its last 10 ms tick: about how long a request waits "
    "unread in its socket (sampled; 0 until the worker's slots were first all taken).",
    multiprocess_mode="liveall",
)
RECOMMEND_SECONDS = Histogram(
    "casewise_recommendation_seconds",
    "Time to give a case's recommendations (fact queries and playbook rules).",
    buckets=SLOW,
)
FACT_QUERY_SECONDS = Histogram(
    "casewise_fact_query_seconds",
    "Time the fact queries of one case took (one read transaction).",
    buckets=SLOW,
)
SPOOL_PENDING = Gauge(
    "casewise_spool_pending_bytes",
    "Bytes of decision records in a worker's spool not yet written to Neo4j (sampled).",
    multiprocess_mode="liveall",
)
FLUSHER_LAG = Gauge(
    "casewise_flusher_lag_seconds",
    "Age of the oldest spool segment a worker holds with records not yet in Neo4j; 0 when "
    "all are there (sampled).",
    multiprocess_mode="liveall",
)
FLUSH_BATCH = Histogram(
    "casewise_flush_batch_records",
    "Decision records written to Neo4j in one transaction by the flusher.",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
RELOADS = Counter(
    "casewise_reloads",
    "Rule files and playbooks looked at by a reload, by outcome (new, changed, unchanged, "
    "refused, retired).",
    ["outcome"],
)
GRAPH_TRANSACTIONS = Counter(
    "casewise_graph_transactions",
    "Managed Neo4j transactions run, by access (read, write).",
    ["access"],
)
GRAPH_RETRIES = Counter(
    "casewise_graph_transaction_retries",
    "Times the Neo4j driver ran a transaction function again after a transient error.",
    ["access"],
)
GRAPH_SECONDS = Histogram(
    "casewise_graph_transaction_seconds",
    "Time of one managed Neo4j transaction, retries included, by access.",
    ["access"],
    buckets=SLOW,
)
GRAPH_SESSIONS_IN_USE = Gauge(
    "casewise_graph_sessions_in_use",
    "Neo4j sessions a worker has open, each holding (or waiting for) a pooled connection "
    "(the driver's pool is not exposed, so Casewise counts at its own layer).",
    multiprocess_mode="livesum",
)
GRAPH_ACQUIRE_SECONDS = Histogram(
    "casewise_graph_acquire_seconds",
    "Time from opening a session to the start of its transaction's work: a connection taken "
    "from the driver's pool (or opened) and the transaction begun, by access.",
    ["access"],
    buckets=SLOW,
)
PROCESS_CPU = Gauge(
    "casewise_process_cpu_seconds",
    "CPU time a worker process used (sampled).",
    multiprocess_mode="liveall",
)
PROCESS_MEMORY = Gauge(
    "casewise_process_resident_memory_bytes",
    "Resident memory of a worker process (sampled).",
    multiprocess_mode="liveall",
)
PROCESS_FDS = Gauge(
    "casewise_process_open_fds",
    "Open file descriptors of a worker process (sampled).",
    multiprocess_mode="liveall",
)
PROCESS_START = Gauge(
    "casewise_process_start_time_seconds",
    "When a worker process started, in seconds since the epoch.",
    multiprocess_mode="liveall",
)
