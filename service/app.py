"""The FastAPI application, a composition root: ``create_app()`` wires the settings, the engine's
registry, the case graph, the decision log, the playbooks, auth, the API routers and the pages
(the factory `casewise serve` runs). Nothing imports this module but ``service.cli`` and tests."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from service.api import (
    cases,
    decision_docs,
    decision_log,
    decisions,
    documents,
    live,
    notes,
    recommendations,
    rulesets,
    suggestions,
)
from service.api.body import BodyMiddleware
from service.api.direct import DirectRoutes
from service.api.reloading import Reloader, watch
from service.auth.middleware import Auth, AuthMiddleware, Generation
from service.auth.nudge import Watch, nudge_path
from service.auth.policy import check_routes
from service.auth.sessions import Sessions, session_secret
from service.auth.store import KeyCache, Neo4jStore, UserStore
from service.auth.throttle import Throttle
from service.decisionlog.log import DecisionLog
from service.engine import Problem, Registry
from service.graph.db import Graph, GraphError, GraphHandle, GraphUnavailable, UnsupportedServer
from service.graph.versions import VersionKeeper
from service.http import probeport, uploads
from service.http.admission import Admission, AdmissionMiddleware, KeyRateMiddleware
from service.http.edge import EdgeMiddleware
from service.http.errors import install_error_handlers
from service.http.logsetup import configure_logging
from service.http.metrics import Sampler, metrics_route
from service.http.readiness import Readiness
from service.http.responses import JSON
from service.http.templating import STATIC
from service.recommend.facts import FactLimits, FactQueryError
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.refresh import Refresher
from service.settings import Settings, configure_limits, load_settings
from service.web import (
    admin,
    dashboard,
    decisions_page,
    lint_page,
    pages,
    rulespages,
    signin,
    simulate,
    versions_page,
    warmup,
)
from service.web import documents as case_documents

log = logging.getLogger("casewise.api")


def create_app(
    settings: Settings | None = None,
    registry: Registry | None = None,
    users: UserStore | None = None,
) -> FastAPI:
    """Give the app serving ``registry``, or the rulesets in ``settings.rules_dir`` if none.

    Users and keys are read from ``users``, or else from the case graph (NEO4J_URI).
    """
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    problems: list[Problem] = []
    watching = registry is None and settings.watch == "on"  # an app given a registry never watches
    if registry is None:
        registry, problems = load_registry(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_routes(app.router.routes)  # again: a route added after create_app never serves
        if settings.worker_nice:  # before this worker starts its threads, which inherit it
            probeport.lower_priority(settings.worker_nice)
        handle = await run_in_threadpool(open_graph, settings)
        app.state.graph = handle
        await run_in_threadpool(check_playbooks, app.state.playbooks, handle)
        app.state.decision_log = await run_in_threadpool(DecisionLog.start, settings, handle)
        if handle.configured:  # recommendations kept current for the worklist
            app.state.refresher = Refresher(
                handle.prepare, app.state.playbooks, settings.recommend_refresh_seconds
            )
            app.state.refresher.start()
        # the first case page must not load the layout library or plan its reads (warmup.py)
        if settings.warmup == "on":
            await run_in_threadpool(warmup.warm, handle, settings.link_depth)
        keeper.start()  # versions serving since start-up go to Neo4j (through the spool)
        sampler = Sampler(app.state, app.state.admission)  # this worker's gauges (/metrics)
        sampler.start()
        app.state.reloader.keep()
        watcher = None
        if watching:
            folders = [settings.rules_dir, settings.knowledge_dir]
            debounce = settings.watch_debounce_ms
            watcher = asyncio.create_task(watch(app.state.reloader, folders, debounce))
        reports = probeport.report_folder()  # `casewise serve --probe-port`: to its supervisor
        reporter = None
        if reports is not None:
            reporter = asyncio.create_task(
                probeport.keep_reporting(reports, app.state.readiness.report)
            )
        # What start-up made (modules, rulesets, templates, the driver) lives as long as the
        # app: kept out of the cyclic collector, whose passes over it cost each decision about
        # a tenth of its CPU, until the app stops (a registry a reload replaces is meanwhile
        # freed as far as reference counting frees it).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            for task in (watcher, reporter):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await run_in_threadpool(sampler.stop)
            await run_in_threadpool(keeper.close)
            if app.state.refresher is not None:
                await run_in_threadpool(app.state.refresher.stop)
                app.state.refresher = None
            if app.state.decision_log is not None:
                await run_in_threadpool(app.state.decision_log.stop)
                app.state.decision_log = None
            await run_in_threadpool(handle.close)

    app = FastAPI(
        title="Casewise",
        summary="Routine decisions by rules, with the reason and the ruleset version.",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=JSON,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.load_problems = problems
    app.state.playbooks = load_playbooks(settings)
    keeper = VersionKeeper(settings.spool_dir / "versions", lambda: app.state.graph.prepare())
    app.state.reloader = Reloader(settings, registry, app.state.playbooks, keeper)
    # Until the lifespan opens the graph (and without NEO4J_URI) the case routes answer 503.
    app.state.graph = GraphHandle(None, schema_path(settings))
    app.state.decision_log = None  # started by the lifespan (service.decisionlog)
    app.state.refresher = None  # started by the lifespan (service.recommend.refresh)
    install_error_handlers(app)
    # The single-decision route is the hot path: a plain ASGI route answers it, ahead of
    # Starlette's router (service/api/direct.py) and of the FastAPI route that documents it in
    # OpenAPI (same function, same error handlers); the router holds it too.
    decide = Route("/v1/decisions/{ruleset}", decisions.decide_route, methods=["POST"],
                   include_in_schema=False)  # fmt: skip
    app.add_middleware(DirectRoutes, routes=[decide])
    # bounds every body and parses the JSON API's; document uploads are multipart, not JSON
    app.add_middleware(
        BodyMiddleware,
        max_bytes=settings.max_body_bytes,
        uploads=uploads.UPLOAD_PATHS,
        upload_bytes=uploads.upload_limit(settings),
    )
    # sheds what a worker cannot serve in time (503), before any body is read; inside auth, so
    # that a flood of bad keys (throttled there) takes no caller's slot
    app.state.admission = Admission(
        settings.max_in_flight, settings.max_queue, settings.queue_timeout_ms / 1000
    )
    app.add_middleware(AdmissionMiddleware, admission=app.state.admission)
    if settings.rate_per_key:  # 429 to a key over its rate: inside auth, which names the key
        app.add_middleware(KeyRateMiddleware, rate=settings.rate_per_key)
    app.state.readiness = Readiness(app.state)  # /readyz, at the connection too
    app.state.auth = make_auth(settings, app, users)
    app.add_middleware(AuthMiddleware, auth=app.state.auth)
    docs = frozenset(
        p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p
    )
    # outermost, for every answer: the request id, the security headers, the HTTP metrics, the
    # JSON log line, a 500 with an error id (service/http/edge.py)
    app.add_middleware(EdgeMiddleware, json_lines=settings.log_format == "json", docs_paths=docs)
    app.router.routes.append(Route("/metrics", metrics_route, methods=["GET"],
                                   include_in_schema=False))  # fmt: skip
    app.router.routes.insert(0, decide)  # first of all routes (see DirectRoutes above)
    app.include_router(decisions.router)
    decision_docs.document_rulesets(app)  # and a documented path per served ruleset
    app.include_router(decision_log.router)
    app.include_router(live.router)  # before rulesets: /v1/rulesets/status is not a ruleset
    app.include_router(rulesets.router)
    app.include_router(rulesets.probes)
    app.include_router(cases.router)
    app.include_router(notes.router)  # /v1/cases/{id}/notes (service/api/notes.py)
    app.include_router(documents.router)  # /v1/cases/{id}/documents (service/api/documents.py)
    app.include_router(recommendations.router)
    app.include_router(suggestions.router)
    app.include_router(pages.router)
    app.include_router(case_documents.router)  # notes and documents forms, downloads
    app.include_router(rulespages.router)  # /rules and /rules/{name} (service/web/rulespages.py)
    app.include_router(dashboard.router)
    app.include_router(simulate.router)  # /rules/{name}/simulate (service/web/simulate.py)
    app.include_router(signin.router)
    app.include_router(admin.router)  # /admin: people, keys, changes (service/web/admin.py)
    app.include_router(versions_page.router)  # /rules/{name}/versions
    app.include_router(decisions_page.router)  # /decisions: the decision log for authors
    app.include_router(lint_page.router)  # /rules/{name}/try: a dry-run decision
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    check_routes(app.router.routes)  # a route without a rule in the policy never serves
    return app


def make_auth(settings: Settings, app: FastAPI, users: UserStore | None) -> Auth:
    """Give the app's authentication: the user store, the session signer, on or off."""
    secret = session_secret(settings)
    if settings.auth == "off":
        log.warning("CASEWISE_AUTH=off: every route is open to anyone, no one signs in")
    if users is None and settings.neo4j_uri:
        users = Neo4jStore(lambda: app.state.graph.prepare())
    if users is None and settings.auth == "on":
        log.error(
            "NEO4J_URI is not set: no users or keys, so the protected routes answer 503; "
            "set NEO4J_URI, or CASEWISE_AUTH=off for a service without sign-in"
        )
    throttle = Throttle(
        settings.auth_failures_per_client,
        settings.auth_failures_per_account,
        settings.auth_concurrent_hashes,
    )
    sessions = Sessions(secret, settings.secure_cookies)
    # A key's 'last used' time is kept when it is verified (at most once a minute per worker).
    keys = KeyCache(used=users.mark_used) if isinstance(users, Neo4jStore) else KeyCache()
    # a key revoked in another worker of this machine stops at its next request here too
    generation = Generation(watch=Watch(nudge_path(settings.spool_dir)))
    return Auth(
        users,
        sessions,
        enabled=settings.auth == "on",
        throttle=throttle,
        keys=keys,
        generation=generation,
    )


def schema_path(settings: Settings) -> Path:
    """Give the graph schema file: ``schema.cypher`` in the knowledge folder."""
    return settings.knowledge_dir / "schema.cypher"


def open_graph(settings: Settings) -> GraphHandle:
    """Give the case graph of NEO4J_URI, checked and with the schema applied if it answers.

    Neo4j being down does not stop the service: decisions do not need it, and the case routes
    try again on each request. A server that is too old does stop it.
    """
    if not settings.neo4j_uri:
        log.info("NEO4J_URI is not set: no case graph; the case routes answer 503")
        return GraphHandle(None, schema_path(settings))
    graph = Graph.open(
        settings.neo4j_uri,
        settings.neo4j_user,
        settings.neo4j_password.get_secret_value(),
        settings.neo4j_database,
        settings.neo4j_ca_file,
    )
    handle = GraphHandle(graph, schema_path(settings))
    try:
        handle.prepare()
    except UnsupportedServer:
        handle.close()
        raise
    except GraphUnavailable as exc:
        log.error("%s; decisions are served, the case routes retry on each request", exc)
    return handle


def load_registry(settings: Settings) -> tuple[Registry, list[Problem]]:
    """Load every rule file in ``settings.rules_dir``; log each problem of a refused file."""
    configure_limits(settings)
    registry = Registry(max_firings=settings.max_firings)
    if not settings.rules_dir.is_dir():
        log.error("rules folder %s does not exist; no ruleset is served", settings.rules_dir)
        return registry, []
    problems = registry.load_dir(settings.rules_dir)
    for problem in problems:
        log.error("%s", problem)
    if problems:
        refused = sorted({p.path for p in problems})
        log.error("refused %d rule file(s), not served: %s", len(refused), ", ".join(refused))
    log.info(
        "serving %d ruleset(s) from %s: %s",
        len(registry.names()),
        settings.rules_dir,
        ", ".join(sorted(registry.names())) or "none",
    )
    return registry, problems


def load_playbooks(settings: Settings) -> PlaybookRegistry:
    """Load the action catalogue and the playbooks of ``settings.knowledge_dir``; log problems."""
    registry = PlaybookRegistry.load(
        settings.knowledge_dir,
        max_firings=settings.max_firings,
        limits=FactLimits.from_settings(settings),
    )
    for problem in registry.problems:
        log.error("%s", problem)
    if registry.problems:
        refused = sorted({p.path for p in registry.problems})
        log.error("refused %d playbook file(s), not served: %s", len(refused), ", ".join(refused))
    log.info(
        "serving %d playbook(s) and %d action(s) from %s: %s",
        len(registry),
        len(registry.actions),
        settings.knowledge_dir,
        ", ".join(registry.names()) or "none",
    )
    return registry


def check_playbooks(registry: PlaybookRegistry, handle: GraphHandle) -> None:
    """Check the playbooks' fact queries against the graph if it is ready (else on first use)."""
    if not handle.ready or handle.graph is None:
        return
    try:
        registry.check(handle.graph)
    except (GraphError, FactQueryError) as exc:
        log.error("%s; the fact queries are checked on the first recommendation", exc)
