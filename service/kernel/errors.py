"""The root of every error Casewise raises, and the HTTP status each error code means.

Every error carries ``status`` (the HTTP status it is answered with), ``code`` (a stable
identifier, e.g. ``not-found``), ``message`` (what went wrong, with the value, and what to do)
and ``details`` (a list, e.g. one entry per bad field). ``service.http.errors`` renders any of
them, in one place, as the JSON error shape or as the HTML error page. A class that names a
``code`` of ``STATUS_OF_CODE`` and no ``status`` of its own gets the status of its code.

Hierarchy (module, then class; status in brackets)::

    CasewiseError                   kernel.errors                         [500]
    ├── RuleFileError               engine.errors: a rule file refused    [422]
    ├── InputError                  engine.errors: input misfits schema   [422]
    ├── DecisionError               engine.errors: no decision reached    [422]
    ├── UnknownRuleset              engine.errors                         [404]
    ├── SimulationError             engine.simulate                       [422]
    │   ├── NothingLogged           simulation.run                        [404]
    │   └── CandidateRefused        simulation.playbooks                  [422]
    ├── SettingsError               settings                              [500]
    ├── GraphError                  graph.db: a query failed              [500]
    │   ├── GraphUnavailable        graph.db: down, too old, no NEO4J_URI [503]
    │   │   ├── UnsupportedServer   graph.db
    │   │   └── GraphNotConfigured  graph.db
    │   ├── CaseNotFound            graph.cases                           [404]
    │   ├── InvalidReference        graph.cases                           [422]
    │   └── NoteTaken, DocumentNotFound  graph.notes, graph.documents     [409, 404]
    ├── VersionNotFound             graph.versions                        [404]
    ├── ImportFileError             graph.eventlog                        [422]
    ├── SpoolError                  decisionlog.spool: record not durable [503]
    ├── FilterError                 decisionlog.store                     [422]
    ├── DecisionNotFound            decisionlog.store                     [404]
    ├── CatalogueError              recommend.catalogue                   [422]
    ├── FactQueryError              recommend.facts                       [503]
    │   ├── FactQueryRefused        recommend.facts
    │   └── FactQueryFailed         recommend.facts
    │       └── FactQueryTimedOut   recommend.facts
    ├── FactTypeError               recommend.recommend: a playbook bug   [500]
    ├── RecommendationNotFound      recommend.feedback                    [404]
    ├── InvalidFeedback             recommend.feedback                    [422]
    ├── AlreadyDecided              recommend.feedback                    [409]
    ├── AuthError                   auth.store                            [422]
    ├── SecretKeyError              auth.sessions                         [500]
    ├── Neo4jLauncherError          devtools.neo4j: the local Neo4j       [500]
    ├── ProbePortError              http.probeport: port not to be had    [500]
    └── ApiError                    http.errors: status and code per use
        └── PayloadTooLarge         http.errors                           [413]

``DecisionError`` is a 422 ``decision-failed`` whatever the engine's reason; its ``reason``
(``chain-limit``, ``table-not-unique``) comes first in ``details``.
"""

from __future__ import annotations

from typing import Any

STATUS_OF_CODE: dict[str, int] = {
    "not-found": 404,
    "already-decided": 409,
    "idempotency-conflict": 409,
    "payload-too-large": 413,
    "unsupported-media-type": 415,
    "invalid-input": 422,
    "invalid-rule-file": 422,
    "invalid-candidate": 422,
    "invalid-catalogue": 422,
    "invalid-import-file": 422,
    "invalid-credentials": 422,
    "decision-failed": 422,
    "too-many-attempts": 429,
    "graph-unavailable": 503,
    "decision-log-unavailable": 503,
    "fact-query-failed": 503,
}
"""The HTTP status of each error code; a code not listed is a 500."""


class CasewiseError(Exception):
    """Root of every error Casewise raises: ``status``, ``code``, ``message``, ``details``."""

    status: int = 500
    code: str = "error"
    message: str
    details: list[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__ and "status" not in cls.__dict__:
            cls.status = STATUS_OF_CODE.get(cls.code, cls.status)

    def __init__(self, message: str = "", details: list[Any] | None = None) -> None:
        super().__init__(message)
        # A subclass may set message and details before calling this; keep what it set.
        self.__dict__.setdefault("message", message)
        if details is not None:
            self.details = list(details)
        else:
            self.__dict__.setdefault("details", [])
