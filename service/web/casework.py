"""What the case page shows beyond the case's own record: its notes and documents (also in the
timeline), a summary in words (money, dates with their time zone, the claimant), linked cases
grouped by what they share, and what similar cases and the case's history suggest next.

``case_extras`` adds these to the values ``views.case_page`` gives; the forms that write notes
and documents are in ``service.web.documents``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
import threading
import time
import uuid
from typing import Any

from service.graph import documents, notes
from service.graph.db import Graph, GraphError
from service.graph.neighbourhood import group_links
from service.recommend import nextaction
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.similar import similar_actions

log = logging.getLogger("casewise.web")


def _when(value: Any) -> dt.datetime:
    try:
        at = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def with_entries(
    timeline: list[dict[str, Any]], entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Give the timeline with ``entries`` placed by time, each after the entries of its time."""
    merged = list(timeline)
    for entry in sorted(entries, key=lambda e: _when(e["at"])):
        times = [_when(e["at"]) for e in merged]
        merged.insert(bisect.bisect_right(times, _when(entry["at"])), entry)
    return merged


def evidence_names(case: dict[str, Any]) -> dict[str, str]:
    """Give each piece of the case's evidence a name for people: its kind and description."""
    names = {}
    for item in case.get("evidence") or []:
        kind = str(item.get("kind") or "evidence").replace("_", " ")
        described = item.get("description")
        names[str(item["id"])] = f"{kind}: {described}" if described else kind
    return names


CURRENCIES = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}
CLAIMANT_ROLES = ("claimant", "complainant", "policyholder", "customer", "insured", "vendor")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def when(value: Any) -> str:
    """Give a stored time as people read it, in UTC and saying so: "3 Mar 2026, 09:15 UTC"."""
    if not value:
        return "–"
    at = _when(value)
    if at.year == 1:
        return str(value)
    return at.astimezone(dt.UTC).strftime("%-d %b %Y, %H:%M UTC")


def money(amount: float, currency: str | None) -> str:
    """Give an amount as money: "£12,480.50", "CHF 80.00"."""
    sign = CURRENCIES.get((currency or "").upper())
    text = f"{abs(amount):,.2f}"
    minus = "−" if amount < 0 else ""
    if sign:
        return f"{minus}{sign}{text}"
    return f"{minus}{currency.upper()} {text}" if currency else f"{minus}{text}"


def _label(key: str) -> str:
    return key.replace("_", " ").replace("-", " ").strip().capitalize()


def facts(case: dict[str, Any]) -> list[tuple[str, str]]:
    """Give the case's attributes as (label, value) for people: money formatted with its
    currency, dates written out, yes/no for flags; the currency itself is not repeated."""
    attributes = dict(case.get("attributes") or {})
    currency = attributes.pop("currency", None)
    out = []
    for key, value in attributes.items():
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, int | float) and re.search("amount|value|cost|price", key):
            text = money(float(value), currency if isinstance(currency, str) else None)
        elif isinstance(value, str) and _DATE.match(value):
            text = dt.date.fromisoformat(value).strftime("%-d %b %Y")
        elif isinstance(value, str) and _TIME.match(value):
            text = when(value)
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        else:
            text = str(value).replace("_", " ") if isinstance(value, str) else str(value)
        out.append((_label(key), text))
    return out


def claimant(case: dict[str, Any]) -> dict[str, Any] | None:
    """Give the party the case is about (claimant, complainant, ...; else the first person)."""
    parties = list(case.get("parties") or [])
    for role in CLAIMANT_ROLES:
        for party in parties:
            if role in (party.get("roles") or []):
                return {**party, "as": role}
    person = next((p for p in parties if p.get("kind") == "person"), None)
    return {**person, "as": (person.get("roles") or ["party"])[0]} if person else None


MODEL_SECONDS = 300.0
"""How long a learnt next-activity model of a case type serves before it is learnt again."""
_models: dict[str, tuple[float, nextaction.NextActivityModel]] = {}
_models_lock = threading.Lock()


_learning: set[str] = set()  # case types whose model is being learnt again in the background


def learn(graph: Graph, case_type: str) -> nextaction.NextActivityModel:
    """Learn the next-activity model of a case type from every history now; keep and give it."""
    try:
        model = nextaction.train(graph, case_type=case_type)
        with _models_lock:
            _models[case_type] = (time.monotonic(), model)
        return model
    finally:
        with _models_lock:
            _learning.discard(case_type)


def _model(graph: Graph, case_type: str) -> nextaction.NextActivityModel:
    """Give the case type's model; one older than MODEL_SECONDS serves while a thread learns
    it again, so only a type never seen since start-up (warmup.py learns them) waits."""
    with _models_lock:
        found = _models.get(case_type)
        stale = found is None or time.monotonic() - found[0] >= MODEL_SECONDS
        relearn = found is not None and stale and case_type not in _learning
        if relearn:
            _learning.add(case_type)
        learning = found is None and case_type in _learning
    if relearn:
        threading.Thread(target=learn, args=(graph, case_type), daemon=True).start()
    if found is not None:
        return found[1]
    if learning:  # the start-up's thread is at it: nothing to predict from until it is done
        return nextaction.NextActivityModel()
    return learn(graph, case_type)


def learn_all(graph: Graph, case_types: list[str]) -> None:
    """Learn the model of each case type in a background thread (at start-up)."""
    with _models_lock:
        _learning.update(case_types)

    def work() -> None:
        for case_type in case_types:
            try:
                learn(graph, case_type)
            except Exception as exc:  # a closed driver at shutdown, Neo4j gone: learnt later
                log.info("next-activity model of %s not learnt at start-up: %s", case_type, exc)
                with _models_lock:
                    _learning.difference_update(case_types)
                return

    threading.Thread(target=work, name="casewise-learn", daemon=True).start()


LIFECYCLE = {
    "closed": "Close the case",
    "reopened": "Reopen the case",
    "assigned": "Assign the case",
    "case-updated": "Change status or priority",
}
"""Names for people of the case's own events, which are no catalogue action."""


def activity_name(activity: str, labels: dict[str, str]) -> str:
    """Give an action or event kind as people say it: its catalogue label, else in words."""
    return labels.get(activity) or LIFECYCLE.get(activity) or _words(activity)


def _words(kind: str) -> str:
    """Give a kind as words: "documents-requested" is "Documents requested"."""
    return kind.replace("-", " ").replace("_", " ").capitalize()


def _percent(p: float) -> str:
    return f"{round(p * 100)}%"


def suggestions(
    graph: Graph, case: dict[str, Any], history: list[str], labels: dict[str, str]
) -> dict[str, Any]:
    """Give what closed cases like this one did (with the cases) and the likeliest next
    activities after the case's history (with how often they came next), each with its reason
    in words. A graph error leaves them out, with a note; the page still shows."""
    out: dict[str, Any] = {"similar": [], "similar_seen": 0, "next": [], "suggest_note": None}
    if case.get("status") == "closed":
        return out
    try:
        similar = similar_actions(graph, str(case["id"]))
        seen = sorted({c for s in similar for c in s["cases"]})
        out["similar_seen"] = len(seen)
        # every closed case was closed: that it was says nothing about what to do
        for item in [s for s in similar if s["action"] != "closed"][:5]:
            out["similar"].append(
                {**item, "label": activity_name(item["action"], labels),
                 "reason": f"done in {item['count']} of the {len(seen)} closed "
                 f"{case['type'].replace('-', ' ')} cases most like this one"}
            )  # fmt: skip
        model = _model(graph, str(case["type"]))
        last = (
            f"after “{labels.get(history[-1]) or _words(history[-1])}”"
            if history
            else "at the start of a case"
        )
        for item in model.predict(history, 3):
            if item["probability"] < 0.05:
                continue
            out["next"].append(
                {**item, "label": activity_name(item["activity"], labels),
                 "reason": f"came next {_percent(item['probability'])} of the time {last}, "
                 f"learnt from {item['support']} case histories at this point"}
            )  # fmt: skip
    except GraphError as exc:
        log.warning("similar cases and next activities of %s: %s", case.get("id"), exc)
        out["suggest_note"] = f"Similar cases could not be read: {exc.message}"
    return out


def recommendation_words(graph: Graph, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Give each recommendation's reasons and score in words, by its id: the words the
    recommender gives the API too (``service.recommend.reasons``)."""
    return {
        str(rec["id"]): {"reasons": rec.get("reasons") or [], "score": rec.get("score_explained")}
        for rec in data.get("recommendations") or []
    }


def case_extras(
    graph: Graph, playbooks: PlaybookRegistry | None, data: dict[str, Any]
) -> dict[str, Any]:
    """Give the notes and documents of the case page's case, and its timeline with them."""
    case_id = str(data["case"]["id"])
    written = notes.notes(graph, case_id)
    attached = documents.documents(graph, case_id)
    names = evidence_names(data["case"])
    entries = [{"at": n["at"], "type": "note", "item": n} for n in written]
    entries += [{"at": d["uploaded_at"], "type": "document", "item": d} for d in attached]
    history = [
        str(e["item"].get("kind"))
        for e in data.get("timeline") or []
        if e.get("type") == "event" and e["item"].get("kind")
    ]
    labels = {a.id: a.label for a in playbooks.actions.values()} if playbooks else {}
    return {
        **suggestions(graph, data["case"], history, labels),
        "facts": facts(data["case"]),
        "explained": recommendation_words(graph, data),
        "claimant": claimant(data["case"]),
        "link_groups": group_links(list(data.get("links") or [])),
        "when_text": when,
        "notes": written,
        "documents": attached,
        "evidence_names": names,
        # an event of the timeline by name: an action's label, else its kind in words
        "event_name": lambda kind: labels.get(str(kind)) or _words(str(kind)),
        "party_names": {
            str(p["id"]): str(p.get("name") or p["id"]) for p in data["case"].get("parties") or []
        },
        "timeline": with_entries(data.get("timeline") or [], entries),
        # a fresh id per page: the same form sent twice adds one note
        "note_id": f"note-{uuid.uuid4().hex}",
    }
