"""Deterministic test material: a generated 50-rule ruleset, and decision inputs for any ruleset.

``ruleset_yaml()`` writes a purchase-order style ruleset of 50 rules (numeric and enum
conditions, chained comparisons, arithmetic, derived facts two levels deep, one rule that
stops the decision, ties in priority) and one decision table (hit policy collect with a
sum). ``make_inputs()`` draws valid inputs from a rule file's schema, favouring values
next to the constants the rules compare with, so the equivalence check reaches the edges.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

# The regex parser behind `re` (Python 3.11+), to write strings that match a field's pattern.
from re import _constants as _sre
from re import _parser as _sre_parser
from typing import Any

from .model import MISSING, Field, RuleModel, literals

GENERATED_NAME = "generated-50"
SEED = 20260302

_SCHEMA = """\
input:
  amount: {type: number, required: true, minimum: 0, maximum: 100000}
  quantity: {type: integer, required: true, minimum: 1, maximum: 1000}
  category:
    type: string
    required: true
    enum: [hardware, software, services, travel, office, marketing]
  region: {type: string, required: true, enum: [EU, US, APAC, LATAM]}
  channel: {type: string, enum: [web, partner, phone], default: web}
  urgent: {type: boolean, default: false}
  risk_score: {type: integer, required: true, minimum: 0, maximum: 100}
  customer:
    type: object
    required: true
    fields:
      tier: {type: string, required: true, enum: [bronze, silver, gold, platinum]}
      years: {type: integer, required: true, minimum: 0, maximum: 40}
      score: {type: number, required: true, minimum: 0, maximum: 100}

output:
  route: {type: string, enum: [reject, hold, cfo, director, manager, auto]}
  review: {type: string, enum: [full, light, none]}
  discount: {type: number, default: 0}
  urgency: {type: string, enum: [high, normal, low], default: normal}
  open_case: {type: boolean, default: false}
  case_type: {type: string}
  flags: {type: list}
  approvers: {type: list}
  fee: {type: number}
"""

# Rules that derive facts (one asserting rule per fact; two facts read other facts).
_FACT_RULES = [
    ("high-value", "amount > 20000"),
    ("bulk", "quantity >= 500"),
    ("risky", "customer.score < 30 or risk_score >= 80"),
    ("loyal", 'customer.years >= 5 and customer.tier in ["gold", "platinum"]'),
    ("cross-border", 'region in ["APAC", "LATAM"] and channel == "partner"'),
    ("needs-review", 'fact("high-value") and fact("risky")'),
    ("vip", 'fact("loyal") and amount > 5000'),
]

_TABLE = """\
tables:
  - id: fee
    description: Handling fees; every matching row adds its fee.
    hit: collect
    aggregate: sum
    inputs: [category, amount, region]
    outputs: [fee]
    rows:
      - ['"hardware","software"', "> 10000", "-", 50]
      - ['"hardware"', "-", '"APAC","LATAM"', 25]
      - ['"services"', "[1000..20000]", "-", 40]
      - ['"travel"', "-", "-", 15]
      - ["-", "> 50000", "-", 100]
      - ['not("office","marketing")', "<= 500", '"EU"', 5]
      - ['"office","marketing"', "(100..5000)", "-", 10]
      - ["-", "-", '"US"', 7.5]
"""


_FLAGS = ["big-ticket", "new-customer", "odd-unit-price", "rush", "partner-deal"]
_ROLES = ["buyer", "controller", "legal", "security", "finance"]


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _atom(rnd: random.Random) -> str:
    op = rnd.choice([">", ">=", "<", "<="])
    kind = rnd.randrange(12)
    if kind == 0:
        return f"amount {op} {rnd.choice([500, 1000, 2500, 5000, 10000, 20000, 50000])}"
    if kind == 1:
        lo, hi = sorted(rnd.sample([500, 1000, 5000, 10000, 25000, 60000], 2))
        return f"{lo} < amount <= {hi}"
    if kind == 2:
        return f"quantity {op} {rnd.choice([10, 50, 100, 250, 500])}"
    if kind == 3:
        cats = rnd.sample(["hardware", "software", "services", "travel", "office", "marketing"], 2)
        if rnd.random() < 0.5:
            return f'category == "{cats[0]}"'
        return f'category in ["{cats[0]}", "{cats[1]}"]'
    if kind == 4:
        regions = rnd.sample(["EU", "US", "APAC", "LATAM"], 2)
        if rnd.random() < 0.5:
            return f'region == "{regions[0]}"'
        return f'region not in ["{regions[0]}", "{regions[1]}"]'
    if kind == 5:
        return f'channel {rnd.choice(["==", "!="])} "{rnd.choice(["web", "partner", "phone"])}"'
    if kind == 6:
        return f"urgent == {rnd.choice(['true', 'false'])}"
    if kind == 7:
        return f"risk_score {op} {rnd.choice([20, 40, 60, 80])}"
    if kind == 8:
        return f'customer.tier == "{rnd.choice(["bronze", "silver", "gold", "platinum"])}"'
    if kind == 9:
        return f"customer.years {op} {rnd.choice([1, 2, 5, 10])}"
    if kind == 10:
        return f"customer.score {op} {rnd.choice([30, 50, 70, 90])}"
    return f"amount / quantity {op} {rnd.choice([50, 100, 200, 500])}"


def _condition(rnd: random.Random, facts: list[str]) -> str:
    parts = [_atom(rnd) for _ in range(rnd.choice([1, 1, 2, 2, 2, 3]))]
    if rnd.random() < 0.15:
        parts[0] = f"({parts[0]} or {_atom(rnd)})"
    if rnd.random() < 0.1:
        parts[-1] = f"not ({parts[-1]})"
    if facts and rnd.random() < 0.3:
        parts.insert(0, f'fact("{rnd.choice(facts)}")')
    return " and ".join(parts)


def _actions(rnd: random.Random) -> list[str]:
    choices = [
        lambda: f"set: {{route: {rnd.choice(['hold', 'cfo', 'director', 'manager', 'auto'])}}}",
        lambda: f"set: {{review: {rnd.choice(['full', 'light', 'none'])}}}",
        lambda: f"set: {{discount: {rnd.choice([2.5, 5, 10, 15])}}}",
        lambda: f"set: {{urgency: {rnd.choice(['high', 'low'])}}}",
        lambda: (
            "set: {open_case: true, case_type: "
            + rnd.choice(["fraud", "credit", "compliance"])
            + "}"
        ),
        lambda: f"append: {{flags: [{rnd.choice(_FLAGS)}]}}",
        lambda: f"append: {{approvers: [{rnd.choice(_ROLES)}]}}",
    ]
    picked = rnd.sample(range(len(choices)), rnd.choice([1, 1, 2]))
    actions = [choices[i]() for i in picked]
    # one `set:` mapping and one `append:` mapping per rule
    merged: dict[str, list[str]] = {}
    for a in actions:
        key, _, body = a.partition(": ")
        merged.setdefault(key, []).append(body.strip("{}"))
    return [f"{k}: {{{', '.join(v)}}}" for k, v in merged.items()]


def ruleset_yaml(seed: int = SEED, count: int = 50, name: str = GENERATED_NAME) -> str:
    """The generated ruleset's YAML text (the same for the same seed) with ``count`` rules."""
    rnd = random.Random(seed)
    lines = [
        f"ruleset: {name}",
        f"description: Generated by bench/generate.py for the Casewise benchmark ({count} rules).",
        "",
        _SCHEMA,
        "rules:",
    ]
    fact_names = [name for name, _ in _FACT_RULES]
    rules: list[tuple[str, int, str, list[str]]] = []
    for name, when in _FACT_RULES:
        rules.append((f"derive-{name}", rnd.choice(range(0, 100, 5)), when, [f"assert: {name}"]))
    rules.append(
        (
            "stop-extreme-risk",
            95,
            "risk_score >= 97 and customer.score < 20",
            ["set: {route: reject, review: full}", "stop: true"],
        )
    )
    n = 0
    while len(rules) < count:
        n += 1
        when = _condition(rnd, fact_names)
        rid = f"rule-{n:0{len(str(count))}d}"
        rules.append((rid, rnd.choice(range(0, 100, 5)), when, _actions(rnd)))
    order = list(range(len(rules)))
    rnd.shuffle(order)  # facts are not all asserted by rules above their readers
    for index in order:
        rid, priority, when, actions = rules[index]
        lines.append(f"  - id: {rid}")
        lines.append(f"    priority: {priority}")
        lines.append(f"    when: {_q(when)}")
        lines.append("    then:")
        lines.extend(f"      {a}" for a in actions)
    lines.append("")
    lines.append(_TABLE)
    return "\n".join(lines)


def write_ruleset(folder: Path, seed: int = SEED) -> Path:
    """Write the generated ruleset to ``folder/<name>.yaml`` and give its path."""
    path = folder / f"{GENERATED_NAME}.yaml"
    path.write_text(ruleset_yaml(seed), encoding="utf-8")
    return path


# ---------------------------------------------------------------- inputs


def make_inputs(
    model: RuleModel,
    count: int,
    *,
    seed: int = SEED,
    today: dt.date,
    examples: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """``count`` inputs for ``model``'s schema, as JSON-like dicts (optional fields not always).

    ``examples`` (e.g. the inputs of the rule file's test file) supply values for free-text
    fields.
    """
    rnd = random.Random(seed)
    lits = literals(model)
    seen: dict[str, list[Any]] = {}
    for example in examples or []:
        _collect(example, (), seen)
    return [_object(model, (), model.schema, rnd, lits, seen, today) for _ in range(count)]


def _collect(value: Any, prefix: tuple[str, ...], out: dict[str, list[Any]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _collect(v, (*prefix, k), out)
    elif value is not None:
        bucket = out.setdefault(".".join(prefix), [])
        if value not in bucket:
            bucket.append(value)


def _object(
    model: RuleModel,
    prefix: tuple[str, ...],
    schema: dict[str, Any],
    rnd: random.Random,
    lits: dict[str, list[Any]],
    seen: dict[str, list[Any]],
    today: dt.date,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, spec in schema.items():
        f = model.fields[".".join((*prefix, key))]
        if not f.required and rnd.random() < 0.25:
            continue
        if f.type == "object":
            fields = spec.get("fields") or {} if isinstance(spec, dict) else {}
            out[key] = _object(model, f.path, fields, rnd, lits, seen, today)
            continue
        value = _value(f, rnd, lits.get(f.dotted, []), seen.get(f.dotted, []), today)
        if value is not MISSING:
            out[key] = value
    return out


def _value(f: Field, rnd: random.Random, lits: list[Any], seen: list[Any], today: dt.date) -> Any:
    if f.enum:
        return rnd.choice(f.enum)
    if f.type == "boolean":
        if f.default is not MISSING:
            return (not f.default) if rnd.random() < 0.2 else f.default
        return rnd.random() < 0.5
    if f.type in ("number", "integer"):
        return _number(f, rnd, [v for v in lits if isinstance(v, int | float)])
    if f.type == "date":
        return (today + dt.timedelta(days=rnd.randint(-10, 30))).isoformat()
    if f.type == "datetime":
        moment = dt.datetime.combine(today, dt.time(12)) + dt.timedelta(
            hours=rnd.randint(-240, 720)
        )
        return moment.isoformat() + "Z"
    if f.type == "list":
        pool = [v for v in lits + seen if isinstance(v, str)] or ["a", "b", "c"]
        return rnd.sample(pool, rnd.randint(0, min(3, len(pool))))
    # free text
    if f.pattern:
        candidates = [v for v in seen if isinstance(v, str) and re.fullmatch(f.pattern, v)]
        if candidates and rnd.random() < 0.5:
            return rnd.choice(candidates)
        return sample_regex(f.pattern, rnd)
    pool = [v for v in lits + seen if isinstance(v, str)]
    if pool and rnd.random() < 0.7:
        return rnd.choice(pool)
    return f"{f.path[-1]}-{rnd.randint(1, 999)}"


def _number(f: Field, rnd: random.Random, lits: list[float]) -> float | int:
    lo = f.minimum if f.minimum is not None else 0
    hi = f.maximum if f.maximum is not None else max([*lits, 1000]) * 1.5
    if lits and rnd.random() < 0.5:
        base = rnd.choice(lits)
        step = rnd.choice([-1, 0, 1, 0.5, -0.5] if f.type == "number" else [-1, 0, 1])
        value: float = base + step
    elif rnd.random() < 0.6:
        value = rnd.uniform(lo, min(hi, 4 * max(lits or [hi / 4])))  # where the rules look
    else:
        value = rnd.uniform(lo, hi)
    value = min(max(value, lo), hi)
    if f.type == "integer":
        return int(round(value))
    return round(value, 2)


def sample_regex(pattern: str, rnd: random.Random) -> str:
    """A string that fully matches ``pattern`` (literals, classes, groups, repeats, |)."""
    text = _emit(_sre_parser.parse(pattern), rnd)
    if not re.fullmatch(pattern, text):
        raise ValueError(f"cannot make a string for pattern {pattern!r}")
    return text


def _emit(items: Any, rnd: random.Random) -> str:
    c = _sre
    out = []
    for op, arg in items:
        if op == c.LITERAL:
            out.append(chr(arg))
        elif op == c.IN:
            out.append(_class(arg, rnd))
        elif op == c.ANY:
            out.append(rnd.choice("abcxyz"))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, sub = arg
            high = min(high, low + 3)
            out.extend(_emit(sub, rnd) for _ in range(rnd.randint(low, high)))
        elif op == c.SUBPATTERN:
            out.append(_emit(arg[-1], rnd))
        elif op == c.BRANCH:
            out.append(_emit(rnd.choice(arg[1]), rnd))
        elif op != c.AT:
            raise ValueError(f"regex construct {op} not supported")
    return "".join(out)


def _class(items: Any, rnd: random.Random) -> str:
    c = _sre
    options: list[str] = []
    for op, arg in items:
        if op == c.LITERAL:
            options.append(chr(arg))
        elif op == c.RANGE:
            options.extend(chr(x) for x in range(arg[0], arg[1] + 1))
        elif op == c.CATEGORY and arg == c.CATEGORY_DIGIT:
            options.extend("0123456789")
        elif op == c.CATEGORY and arg == c.CATEGORY_WORD:
            options.extend("abcXYZ019_")
        else:
            raise ValueError(f"regex class item {op} not supported")
    return rnd.choice(options)
