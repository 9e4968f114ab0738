"""The reasons behind a recommendation in words, for the API and the case page alike.

A playbook's ``rationale`` template states what triggered a rule ("linked to 3 other claims
through shared parties or identifiers"); ``describe`` adds the reasons by name, from one read of
the nodes the recommendation's evidence names:

- ``reasons``: one line each: the identifier or party the case shares, with which cases and
  how those ended ("shares bank account GB29NWBK60161331926819 with case CLM-9 (closed: fraud
  confirmed)"); evidence by its kind, description and state ("police report “Theft report” is
  unverified and supports the case"); parties by name and role; events by kind and date;
- ``rationale``: the first reasons as one sentence (the rule's own words when its evidence
  names nothing the words can say more about); ``trigger`` keeps the rule's words;
- ``score_explained``: how the score came about from the rule's weight and expert decisions.

Cases in ``hidden`` (those a scoped API key may not see) are counted, never named or described;
``unseen`` finds them, with the parties, evidence and events that only they hold, and ``conceal``
blanks their ids in the recommendations' ``evidence`` too: each path or id stays, so it is
counted, with ``null`` for the id, and so does an identifier that only their parties hold. A
playbook's facts may hold ids as well (a fact query returning linked case ids): such a fact's
value is ``null`` (or ``null`` in its list), and the rule's words (``trigger``, and ``rationale``
when it quotes them) say "(not shown)" where they named it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, LiteralString

from service.graph.db import Graph
from service.graph.queries import IN_SCOPE
from service.graph.reads import CaseScope
from service.recommend import scoring
from service.recommend.facts import plain

IN_RATIONALE = 3
"""Reasons the rationale sentence names; ``reasons`` has them all."""
CASES_NAMED = 5
"""Cases one shared identifier's reason names; more are counted ("and 12 more")."""

IDENTIFIERS = {"Address": "address", "Phone": "phone", "Email": "e-mail",
               "BankAccount": "bank account"}  # fmt: skip
PARTY_KINDS = ("Person", "Organisation")

# The nodes a case's recommendations name as evidence, each once: its own evidence and events,
# parties (with their roles in this case), and other cases with how they ended.
CONTEXT: LiteralString = """
MATCH (c:Case {id: $case_id})
RETURN c.due_at AS due_at,
  COLLECT { MATCH (e:Evidence)-[:SUPPORTS|CONTRADICTS]->(c) WHERE e.id IN $ids
            RETURN e {.id, .kind, .description, .verified, .effect} } AS evidence,
  COLLECT { MATCH (e:Event)-[:IN_CASE]->(c) WHERE e.id IN $ids
            RETURN e {.id, .kind, .at} } AS events,
  COLLECT { MATCH (p:Party) WHERE p.id IN $ids
            RETURN p {.id, .name, .flagged,
                      roles: COLLECT { MATCH (p)-[r:PARTY_TO]->(c) RETURN r.role ORDER BY r.role }}
          } AS parties,
  COLLECT { MATCH (o:Case) WHERE o.id IN $ids AND o <> c
            RETURN o {.id, .status, .outcome} } AS cases
"""


# Of the given ids, those of cases the caller may not see and of the parties, evidence and events
# of such cases only (not of this case nor of a case the caller may see); other ids (no such
# node, an identifier's value) are not among them.
UNSEEN: LiteralString = (
    """
UNWIND $ids AS id
WITH id, COLLECT {
    MATCH (c:Case {id: id}) RETURN c
    UNION MATCH (:Evidence {id: id})-[:SUPPORTS|CONTRADICTS]->(c:Case) RETURN c
    UNION MATCH (:Event {id: id})-[:IN_CASE]->(c:Case) RETURN c
    UNION MATCH (:Party {id: id})-[:PARTY_TO]->(c:Case) RETURN c
  } AS owners
WHERE owners <> [] AND NONE(c IN owners WHERE c.id = $case_id OR """
    + IN_SCOPE
    + """)
RETURN id
"""
)


@dataclass
class Context:
    """What the words need to know of the nodes a case's recommendations name, by id."""

    case_id: str
    due_at: str | None = None
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    parties: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    hidden: Collection[str] = frozenset()


def named_ids(items: Iterable[Mapping[str, Any]]) -> set[str]:
    """Give the ids the recommendations' evidence names: node ids and the ids on link paths."""
    ids: set[str] = set()
    for item in items:
        for found in (item.get("evidence") or {}).values():
            for entry in found:
                if isinstance(entry, str):
                    ids.add(entry)
                elif isinstance(entry, dict):
                    ids.update(
                        str(n["id"])
                        for n in entry.get("nodes") or []
                        if n.get("kind") not in IDENTIFIERS and n.get("id") is not None
                    )
    return ids


def fact_texts(items: Iterable[Mapping[str, Any]]) -> set[str]:
    """Give the text values of the items' facts (in lists too): ids, when a fact query returns
    them, to be checked as the evidence's are."""
    texts: set[str] = set()
    for item in items:
        for value in (item.get("facts") or {}).values():
            values = value if isinstance(value, list) else [value]
            texts.update(v for v in values if isinstance(v, str))
    return texts


def unseen(
    graph: Graph, case_id: str, items: Iterable[Mapping[str, Any]], scope: CaseScope
) -> set[str]:
    """Give the ids the items' evidence and facts name that ``scope`` may not see: other cases
    out of it, and the parties, evidence and events only such cases have."""
    items = list(items)
    ids = sorted((named_ids(items) | fact_texts(items)) - {case_id})
    if scope.everything or not ids:
        return set()
    return {str(r["id"]) for r in graph.read(UNSEEN, ids=ids, case_id=case_id, **scope.params())}


def conceal_path(nodes: list[dict[str, Any]], hidden: Collection[str]) -> list[dict[str, Any]]:
    """Give a link path's nodes with a null id for those in ``hidden`` and for the identifiers
    that only such parties hold on the path."""
    out = []
    for n, node in enumerate(nodes):
        if node.get("kind") in IDENTIFIERS:
            holders = nodes[max(n - 1, 0) : n] + nodes[n + 1 : n + 2]
            gone = bool(holders) and all(str(h.get("id")) in hidden for h in holders)
        else:
            gone = node.get("id") is not None and str(node["id"]) in hidden
        out.append({**node, "id": None} if gone else node)
    return out


NOT_SHOWN = "(not shown)"


def _blank(value: Any, hidden: Collection[str]) -> Any:
    if isinstance(value, list):
        return [_blank(v, hidden) for v in value]
    return None if isinstance(value, str) and value in hidden else value


def _unsay(text: str, hidden: Collection[str]) -> str:
    """Give ``text`` with each id in ``hidden`` it names, as a whole word, replaced."""
    for key in sorted(hidden, key=len, reverse=True):
        if key in text:
            text = re.sub(rf"(?<![\w-]){re.escape(key)}(?![\w-])", NOT_SHOWN, text)
    return text


def conceal(items: Iterable[dict[str, Any]], hidden: Collection[str]) -> None:
    """Blank, in each item's ``evidence`` and ``facts``, the ids in ``hidden`` (``conceal_path``
    for paths), and unsay them in its ``trigger`` and ``rationale``; every entry stays, so what
    is hidden is still counted."""
    if not hidden:
        return
    for item in items:
        if item.get("facts"):
            item["facts"] = {fact: _blank(v, hidden) for fact, v in item["facts"].items()}
        for words in ("trigger", "rationale"):
            if isinstance(item.get(words), str):
                item[words] = _unsay(item[words], hidden)
        evidence: Mapping[str, list[Any]] = item.get("evidence") or {}
        item["evidence"] = {
            fact: [
                None if isinstance(entry, str) and entry in hidden
                else {**entry, "nodes": conceal_path(list(entry["nodes"]), hidden)}
                if isinstance(entry, dict) and entry.get("nodes")
                else entry
                for entry in found
            ]
            for fact, found in evidence.items()
        }  # fmt: skip


def read_context(
    graph: Graph, case_id: str, items: list[dict[str, Any]], hidden: Collection[str] = ()
) -> Context:
    """Read, in one query, what the words of ``items`` need to know."""
    ids = sorted(named_ids(items))
    context = Context(case_id, hidden=frozenset(hidden))
    if not ids:
        return context
    rows = graph.read(CONTEXT, case_id=case_id, ids=ids)
    if not rows:
        return context
    row = plain(rows[0])
    context.due_at = row["due_at"]
    context.evidence = {str(e["id"]): e for e in row["evidence"]}
    context.events = {str(e["id"]): e for e in row["events"]}
    context.parties = {str(p["id"]): p for p in row["parties"]}
    context.cases = {str(c["id"]): c for c in row["cases"]}
    return context


def _day(value: Any) -> str:
    try:
        return dt.datetime.fromisoformat(str(value)).strftime("%-d %b %Y")
    except ValueError:
        return str(value)


def case_state(case: Mapping[str, Any]) -> str:
    """Give how a case stands in words: "open", "closed: fraud confirmed"."""
    status = str(case.get("status") or "open")
    outcome = case.get("outcome")
    return f"{status}: {str(outcome).replace('-', ' ')}" if outcome else status


def _party(party: Mapping[str, Any], fallback: str) -> str:
    """Give a party as "claimant Jack Price" (its roles in this case first)."""
    name = str(party.get("name") or fallback)
    roles = " and ".join(str(r).replace("_", " ") for r in party.get("roles") or [])
    return f"{roles} {name}" if roles else name


def _shared_through(nodes: list[dict[str, Any]], context: Context) -> str:
    """Give what a link path shares: its identifiers by kind and value, else its first party."""
    nodes = conceal_path(nodes, context.hidden)
    shared = [
        f"{IDENTIFIERS[n['kind']]} {n['id']}"
        for n in nodes
        if n.get("kind") in IDENTIFIERS and n.get("id") is not None
    ]
    if shared:
        return " and ".join(dict.fromkeys(shared))
    party = next(
        (n for n in nodes[1:-1] if n.get("kind") in PARTY_KINDS and n.get("id") is not None), None
    )
    if party is None:
        return "a party"
    key = str(party.get("id"))
    return _party(context.parties.get(key, {}), key)


def _cases(others: list[str], context: Context) -> str:
    """Give the cases a reason names: "case CLM-9 (closed: fraud confirmed)", "cases A, B and
    3 more"; hidden cases are counted as "other cases"."""
    seen = [c for c in dict.fromkeys(others) if c not in context.hidden]
    unseen = len(set(others) & set(context.hidden))
    named = []
    for other in seen[:CASES_NAMED]:
        case = context.cases.get(other)
        named.append(f"{other} ({case_state(case)})" if case else other)
    more = len(seen) - len(named)
    if more:
        named.append(f"{more} more")
    if unseen:
        named.append(f"{unseen} other case{'s' if unseen > 1 else ''}")
    words = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    plural = len(seen) + unseen > 1
    return ("cases " if plural and seen else "case " if seen else "") + words


def _evidence(item: Mapping[str, Any]) -> str:
    name = str(item.get("kind") or "evidence").replace("_", " ")
    if item.get("description"):
        name += f" “{item['description']}”"
    state = "verified" if item.get("verified") else "unverified"
    return f"{name} is {state} and {item.get('effect') or 'supports'} the case"


def explain(rec: Mapping[str, Any], context: Context) -> list[str]:
    """Give the reasons behind a recommendation, one line each, what it shares first."""
    lines: list[str] = []
    sharing: dict[str, list[str]] = {}  # what is shared -> the cases it is shared with
    for found in (rec.get("evidence") or {}).values():
        for item in found:
            if isinstance(item, dict) and item.get("nodes"):
                nodes = list(item["nodes"])
                through = _shared_through(nodes, context)
                sharing.setdefault(through, []).append(str(nodes[-1].get("id")))
            elif not isinstance(item, str):
                continue
            elif item in context.hidden:
                continue
            elif item in context.evidence:
                lines.append(_evidence(context.evidence[item]))
            elif item in context.parties:
                party = context.parties[item]
                flagged = " was flagged by an earlier investigation" if party.get("flagged") else ""
                lines.append(_party(party, item) + flagged)
            elif item in context.events:
                event = context.events[item]
                what = str(event.get("kind") or "event").replace("-", " ")
                lines.append(f"{what} on {_day(event.get('at'))}")
            elif item == context.case_id and context.due_at:
                lines.append(f"the case was due on {_day(context.due_at)}")
            elif item in context.cases:
                lines.append(f"case {item} ({case_state(context.cases[item])})")
    shared = [f"shares {through} with {_cases(o, context)}" for through, o in sharing.items()]
    return list(dict.fromkeys(shared + lines))


def rationale(reasons: list[str], trigger: str) -> str:
    """Give the reasons as one sentence (at most IN_RATIONALE of them), else the trigger."""
    if not reasons:
        return trigger[:1].upper() + trigger[1:]
    text = "; ".join(reasons[:IN_RATIONALE])
    if len(reasons) > IN_RATIONALE:
        text += f"; and {len(reasons) - IN_RATIONALE} more"
    return text[:1].upper() + text[1:]


def score_words(rec: Mapping[str, Any], counts: scoring.Counts, case_type: str) -> str:
    """Give how a recommendation's score came about, in words."""
    accepted, overridden = scoring.evidence_for(counts, str(rec["action"]), str(rec["rule"]))
    weight, score = float(rec.get("base_weight") or 0), float(rec.get("score") or 0)
    kind = case_type.replace("-", " ")
    if accepted + overridden == 0:
        return (
            f"The playbook's rule gives this action a weight of {weight:.2f}. No expert has "
            f"decided on it in {'an' if kind[:1] in 'aeiou' else 'a'} {kind} case yet, so the "
            "score is that weight."
        )
    rate = scoring.posterior_mean(accepted, overridden)
    above, below = rate > scoring.PRIOR_MEAN, rate < scoring.PRIOR_MEAN
    trend = "raises" if above else "lowers" if below else "keeps"
    return (
        f"The playbook's rule gives this action a weight of {weight:.2f}. In earlier {kind} "
        f"cases experts accepted it {accepted} times and chose another action {overridden} "
        f"times; that {trend} it to {score:.2f} (the weight times {rate / scoring.PRIOR_MEAN:.2f}, "
        "how much more often than even experts agree with it). Higher scores come first."
    )


def describe(
    graph: Graph,
    case_id: str,
    case_type: str,
    items: list[dict[str, Any]],
    counts: scoring.Counts | None = None,
    hidden: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Give ``items`` with their ``reasons``, ``rationale`` and ``score_explained`` in words
    (``trigger``: the rule's own words, kept); ``counts`` are read when not given."""
    if not items:
        return items
    context = read_context(graph, case_id, items, hidden)
    if counts is None:
        counts = scoring.learned_counts(graph, case_type)
    for item in items:
        trigger = str(item.get("trigger") or item.get("rationale") or "")
        item["trigger"] = trigger
        item["reasons"] = explain(item, context)
        item["rationale"] = rationale(item["reasons"], trigger)
        item["score_explained"] = score_words(item, counts, case_type)
    return items
