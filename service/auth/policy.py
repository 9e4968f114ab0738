"""Who may call each route: the one table of the service, by method and path.

Every route the app serves must have a rule here: ``create_app`` refuses to start otherwise
(``check_routes``), and ``tests/unit/test_auth_routes.py`` calls every route as every role.
``PUBLIC`` routes need no one; the others list the roles that may call them. A ``scoped`` rule
names the path parameter that holds a ruleset: an API key may ask only for its own rulesets.
A ``form`` rule is a page's POST form, whose handler checks the form's CSRF token itself; any
other change made with a session cookie needs the X-CSRF-Token header or a same-site Origin
(service/auth/middleware.py). A route missing here is refused to everyone, also at run time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.routing import Mount, compile_path

from service.auth.principals import Role


@dataclass(frozen=True)
class Rule:
    """The roles that may call a route (None: anyone), and its ruleset parameter if scoped."""

    roles: frozenset[Role] | None
    scoped: str | None = None
    form: bool = False


PUBLIC = Rule(None)
SYSTEM_AUTHOR = Rule(frozenset({"system", "author"}), scoped="ruleset")
CASE_READERS = Rule(frozenset({"system", "expert", "author"}))
CASE_WRITERS = Rule(frozenset({"system"}))
DECIDERS = Rule(frozenset({"system", "expert"}))
PAGE_READERS = Rule(frozenset({"expert", "author", "admin"}))
EXPERT_FORM = Rule(frozenset({"expert"}), form=True)
AUTHOR_FORM = Rule(frozenset({"author", "admin"}), form=True)
ADMIN_PAGE = Rule(frozenset({"admin"}))
AUTHOR_PAGE = Rule(frozenset({"author", "admin"}))
ADMIN_FORM = Rule(frozenset({"admin"}), form=True)

ROUTES: dict[tuple[str, str], Rule] = {
    # OpenAPI documents, probes, static files and signing in stay public.
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    # Prometheus scrapes with a key for every ruleset; admins look (service/http/metrics.py).
    ("GET", "/metrics"): Rule(frozenset({"system", "admin"})),
    ("GET", "/static"): PUBLIC,
    ("GET", "/signin"): PUBLIC,
    ("POST", "/signin"): PUBLIC,
    ("POST", "/signout"): PUBLIC,
    # Decisions: systems with a key for the ruleset; authors simulate.
    ("POST", "/v1/decisions/{ruleset}"): SYSTEM_AUTHOR,
    ("POST", "/v1/decisions/{ruleset}/batch"): SYSTEM_AUTHOR,
    # The decision log: authors (and admins) read what was decided.
    ("GET", "/v1/decisions"): Rule(frozenset({"author", "admin"})),
    ("GET", "/v1/decisions/{decision_id}"): Rule(frozenset({"author", "admin"})),
    ("GET", "/v1/rulesets"): Rule(frozenset({"system", "author", "admin"})),
    ("GET", "/v1/rulesets/{name}"): Rule(frozenset({"system", "author", "admin"}), "name"),
    # Rules that change while Casewise runs: authors reload; status and versions are read.
    ("POST", "/v1/rulesets/reload"): Rule(frozenset({"author", "admin"})),
    ("GET", "/v1/rulesets/status"): Rule(frozenset({"system", "author", "admin"})),
    ("GET", "/v1/rulesets/{name}/status"): Rule(frozenset({"system", "author", "admin"}), "name"),
    ("GET", "/v1/rulesets/{name}/versions"): Rule(frozenset({"system", "author", "admin"}), "name"),
    ("GET", "/v1/rulesets/{name}/versions/{version}"): Rule(
        frozenset({"system", "author", "admin"}), "name"
    ),
    ("GET", "/v1/rulesets/{name}/diff"): Rule(frozenset({"system", "author", "admin"}), "name"),
    # Cases: systems feed them in; experts (and authors) read them.
    ("POST", "/v1/cases"): CASE_WRITERS,
    ("POST", "/v1/cases/{case_id}/parties"): CASE_WRITERS,
    ("POST", "/v1/cases/{case_id}/evidence"): CASE_WRITERS,
    ("POST", "/v1/cases/{case_id}/events"): CASE_WRITERS,
    ("POST", "/v1/cases/{case_id}/close"): DECIDERS,
    ("POST", "/v1/cases/{case_id}/assign"): DECIDERS,
    ("GET", "/v1/cases"): CASE_READERS,
    ("GET", "/v1/cases/{case_id}"): CASE_READERS,
    ("GET", "/v1/cases/{case_id}/timeline"): CASE_READERS,
    ("GET", "/v1/cases/{case_id}/links"): CASE_READERS,
    ("GET", "/v1/cases/{case_id}/recommendations"): CASE_READERS,
    ("GET", "/v1/cases/{case_id}/similar-actions"): CASE_READERS,
    ("POST", "/v1/cases/{case_id}/recommendations/{rid}/accept"): DECIDERS,
    ("POST", "/v1/cases/{case_id}/recommendations/{rid}/override"): DECIDERS,
    # Notes and documents (service/api/notes.py, documents.py): readers read, deciders write.
    ("POST", "/v1/cases/{case_id}/notes"): DECIDERS,
    ("GET", "/v1/cases/{case_id}/notes"): CASE_READERS,
    ("POST", "/v1/cases/{case_id}/documents"): DECIDERS,
    ("GET", "/v1/cases/{case_id}/documents"): CASE_READERS,
    ("GET", "/v1/cases/{case_id}/documents/{document_id}"): CASE_READERS,
    ("GET", "/v1/suggestions"): Rule(frozenset({"author", "admin"})),
    # Pages: experts decide on cases; authors read rules and suggestions; admins look.
    ("GET", "/"): PAGE_READERS,
    ("GET", "/cases"): PAGE_READERS,
    ("GET", "/cases/{case_id}"): PAGE_READERS,
    ("POST", "/cases/{case_id}/assign"): EXPERT_FORM,
    ("POST", "/cases/{case_id}/change"): EXPERT_FORM,
    ("POST", "/cases/{case_id}/close"): EXPERT_FORM,
    ("POST", "/cases/{case_id}/reopen"): EXPERT_FORM,
    ("POST", "/cases/{case_id}/recommendations/{rid}/accept"): EXPERT_FORM,
    ("POST", "/cases/{case_id}/recommendations/{rid}/override"): EXPERT_FORM,
    ("POST", "/cases/{case_id}/notes"): EXPERT_FORM,
    ("POST", "/cases/{case_id}/documents"): EXPERT_FORM,
    ("GET", "/cases/{case_id}/documents/{document_id}"): PAGE_READERS,
    ("GET", "/dashboard"): PAGE_READERS,
    ("GET", "/rules"): PAGE_READERS,
    ("GET", "/rules/{name}"): PAGE_READERS,
    # Authors (and admins) replay history on a changed rule file (service/web/simulate.py).
    ("GET", "/rules/{name}/simulate"): Rule(frozenset({"author", "admin"})),
    ("POST", "/rules/{name}/simulate"): AUTHOR_FORM,
    # Authors (and admins) compare the versions that served (service/web/versions_page.py).
    ("GET", "/rules/{name}/versions"): AUTHOR_PAGE,
    ("GET", "/rules/{name}/versions/{version}"): AUTHOR_PAGE,
    # Authors (and admins) read the decision log (service/web/decisions_page.py).
    ("GET", "/decisions"): AUTHOR_PAGE,
    ("GET", "/decisions/export"): AUTHOR_PAGE,
    ("GET", "/decisions/{decision_id}"): AUTHOR_PAGE,
    # Authors (and admins) try an input (a lint finding's example) as a dry run.
    ("POST", "/rules/{name}/try"): AUTHOR_FORM,
    # Authors (and admins) reload the rule files from the rules page (service/web/rulespages.py).
    ("POST", "/rules/reload"): AUTHOR_FORM,
    # Admins manage people and API keys; every change is recorded (service/web/admin.py).
    ("GET", "/admin"): ADMIN_PAGE,
    ("GET", "/admin/users"): ADMIN_PAGE,
    ("POST", "/admin/users"): ADMIN_FORM,
    ("POST", "/admin/users/{name}/role"): ADMIN_FORM,
    ("POST", "/admin/users/{name}/disable"): ADMIN_FORM,
    ("POST", "/admin/users/{name}/enable"): ADMIN_FORM,
    ("POST", "/admin/users/{name}/password"): ADMIN_FORM,
    ("GET", "/admin/keys"): ADMIN_PAGE,
    ("POST", "/admin/keys"): ADMIN_FORM,
    ("POST", "/admin/keys/{key_id}/revoke"): ADMIN_FORM,
    ("POST", "/admin/keys/{key_id}/rotate"): ADMIN_FORM,
}
# Mounted apps: every path under the prefix.
MOUNTS = ("/static",)
_MOUNTED = tuple(m + "/" for m in MOUNTS)


class Policy:
    """Finds the rule of a request by its method and path (HEAD as GET)."""

    def __init__(self, routes: dict[tuple[str, str], Rule]) -> None:
        # Exact paths are read from the table itself (a test may add a route with its rule).
        self._exact = routes
        self._patterns: list[tuple[str, re.Pattern[str], Rule]] = []
        for (method, path), rule in routes.items():
            if "{" in path:
                self._patterns.append((method, compile_path(path)[0], rule))

    def find(self, method: str, path: str) -> tuple[Rule, dict[str, Any]] | None:
        """Give the rule and path parameters of a request; None for a path with no rule."""
        method = "GET" if method == "HEAD" else method
        rule = self._exact.get((method, path))
        if rule is not None:
            return rule, {}
        if path.startswith(_MOUNTED):
            return PUBLIC, {}
        for rule_method, pattern, rule in self._patterns:
            if rule_method == method:
                match = pattern.match(path)
                if match:
                    return rule, match.groupdict()
        return None


POLICY = Policy(ROUTES)


def app_routes(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """Give (method, path) of every route the app serves, inside included routers too."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from app_routes(original.routes)
        elif isinstance(route, Mount):
            yield "GET", route.path
        else:
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    yield method, route.path


def check_routes(routes: Iterable[Any]) -> None:
    """Raise RuntimeError naming each route without a rule in ``ROUTES``."""
    missing = sorted({r for r in app_routes(routes) if r not in ROUTES})
    if missing:
        names = ", ".join(f"{m} {p}" for m, p in missing)
        raise RuntimeError(f"routes without a rule in service/auth/policy.py ROUTES: {names}")
