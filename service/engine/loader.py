"""Load a rule file: read, check everything, compile once; refuse the file on any mistake."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from . import durable_guard, expr, ir, limits
from .compile import Atoms, CompileError, condition, may_hold_without_facts
from .depends import Cycle, Unit, stages
from .errors import Problem, RuleFileError
from .model import ENGINES, Action, Rule, Ruleset
from .playbook import RECOMMENDATIONS, FactQuery, catalogue_ids, read_facts, read_recommend
from .pyengine import PyProgram
from .runtime import Program
from .schema import FieldSpec, check_value, read_schema
from .source import (
    Pos,
    Source,
    check_keys,
    key_pos,
    node_pos,
    parse_yaml,
    read_source,
    suggest,
    text_start,
    value_pos,
)
from .tables import (
    AGGREGATES,
    HIT_POLICIES,
    LISTING,
    CellError,
    Row,
    Table,
    cell_expression,
    output_rank,
)

TOP_KEYS = (
    "ruleset",
    "description",
    "engine",
    "input",
    "values",
    "output",
    "rules",
    "tables",
    "limits",
)
PLAYBOOK_KEYS = (
    "playbook",
    "description",
    "engine",
    "facts",
    "values",
    "output",
    "rules",
    "tables",
    "limits",
)
VALUE_TYPES = ("number", "integer", "string", "boolean", "list")
RULE_KEYS = ("id", "description", "priority", "when", "then")
THEN_KEYS = ("set", "append", "assert", "stop")
PLAYBOOK_THEN_KEYS = (*THEN_KEYS, "recommend")
TABLE_KEYS = ("id", "description", "hit", "aggregate", "inputs", "outputs", "rows")
RESERVED = (
    "today",
    "item",
    "true",
    "false",
    "null",
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "in",
)
NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
MAX_PRIORITY = 1000
# durable_rules orders its agenda by "pri", lowest first, held in 16 bits (0..65535):
# table rows all take 0 (matched before any rule fires), rules take 1.. in firing order.
ROW_PRI = 0
MAX_RULES = 65_000


# Names the API's paths use beside ruleset names: GET /v1/rulesets/status, POST .../reload.
RESERVED_NAMES = frozenset({"status", "reload"})

_default_engine = ["compiled"]


def use_engine(name: str) -> None:
    """Make ``name`` the engine of rule files that do not name one (CASEWISE_ENGINE)."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; engines: {', '.join(ENGINES)}")
    _default_engine[0] = name


def load_ruleset(
    path: Path,
    *,
    max_firings: int | None = None,
    actions: Collection[str] | None = None,
    data: bytes | None = None,
    engine: str | None = None,
) -> Ruleset:
    """The ruleset in ``path``, checked and compiled; raises RuleFileError listing every mistake.

    A playbook's ``recommend`` actions are checked against ``actions``, by default the ids of
    the catalogue beside its folder (``knowledge/actions.yaml``). ``data``: the file's bytes,
    already read (a reload hashes them first, so the version is of exactly what was compiled).
    ``engine``: run it on this engine whatever the file or the setting says (the tests
    compare the two engines this way).
    """
    deadline = limits.Deadline(limits.current().compile_timeout_s)
    src, data = read_source(path, data)
    try:
        doc = parse_yaml(src)
    except RecursionError:  # past ruamel's own depth check; never expected
        src.error(Pos(1, 1), "the YAML is nested too deeply to read")
    if src.problems:
        raise RuleFileError(src.problems)
    start = Pos(1, 1)
    if not isinstance(doc, dict):
        src.error(start, "a rule file must be a mapping with keys: " + ", ".join(TOP_KEYS))
        raise RuleFileError(src.problems)
    loader = _Loader(src, doc, path, hashlib.sha256(data).hexdigest(), max_firings, deadline)
    loader.forced_engine = engine
    if loader.is_playbook:
        loader.catalogue = set(actions) if actions is not None else catalogue_ids(path)
    try:
        return loader.load()
    except limits.CompileTimeout as exc:
        raise RuleFileError([Problem(str(path), 1, 1, str(exc))]) from None


class _Loader:
    def __init__(
        self,
        src: Source,
        doc: Any,
        path: Path,
        version: str,
        max_firings: int | None,
        deadline: limits.Deadline,
    ) -> None:
        self.src, self.doc, self.path, self.version = src, doc, path, version
        self.deadline = deadline
        self.when_pos: dict[str, Pos] = {}  # rule id -> where its condition is written
        self.row_pos: dict[str, list[Pos]] = {}  # table id -> where each row is written
        self.default_firings = max_firings or 1000
        self.ids: dict[str, Pos] = {}
        self.is_playbook = "playbook" in doc
        self.catalogue: set[str] | None = None
        self.facts: dict[str, FactQuery] = {}
        self.values: dict[str, FieldSpec] = {}
        self.forced_engine: str | None = None
        self.table_pos: dict[str, tuple[int, int]] = {}

    def err(self, pos: Pos, message: str) -> None:
        self.src.error(pos, message)

    def load(self) -> Ruleset:
        doc, start = self.doc, Pos(1, 1)
        kind = "playbook" if self.is_playbook else "ruleset"
        check_keys(
            self.src,
            doc,
            PLAYBOOK_KEYS if self.is_playbook else TOP_KEYS,
            f"the {kind} file",
            start,
        )
        name = doc.get(kind)
        if not isinstance(name, str) or not NAME.fullmatch(name):
            self.err(
                value_pos(doc, kind, start),
                f"'{kind}' must be a lower-case name such as "
                f"{'insurance-claim' if self.is_playbook else 'invoice-approval'}, got {name!r}",
            )
            name = self.path.stem
        elif name in RESERVED_NAMES:
            self.err(
                value_pos(doc, kind, start),
                f"'{name}' is a word of the API's own paths (/v1/rulesets/{name}); "
                f"choose another {kind} name",
            )
        elif name != self.path.stem:
            self.err(
                value_pos(doc, kind, start),
                f"{kind} '{name}' must be in a file named {name}.yaml, not {self.path.name}",
            )
        if self.is_playbook:
            self.inputs, self.facts = read_facts(
                self.src, doc.get("facts"), value_pos(doc, "facts", start)
            )
        else:
            self.inputs = read_schema(
                self.src, doc.get("input"), "input", value_pos(doc, "input", start)
            )
        self.outputs = read_schema(
            self.src, doc.get("output"), "output", value_pos(doc, "output", start)
        )
        self._values()
        if self.is_playbook:
            if RECOMMENDATIONS in self.outputs:
                self.err(
                    key_pos(doc.get("output"), RECOMMENDATIONS, start),
                    f"'{RECOMMENDATIONS}' is the playbook's own output; name yours differently",
                )
            self.outputs[RECOMMENDATIONS] = FieldSpec(RECOMMENDATIONS, "list")
        for key, schema in (("input", self.inputs), ("output", self.outputs)):
            node = doc.get(key)
            for field in schema:
                if field in RESERVED:
                    self.err(
                        key_pos(node, field, start),
                        f"'{field}' is a word of the expression language; "
                        "name the field something else",
                    )
        if "input" not in doc and not self.is_playbook:
            self.err(start, "the rule file has no 'input' schema; list the fields a decision reads")
        max_firings = self._limits()
        engine = self._engine()
        rules = self._rules()
        tables = self._tables()
        self._check_ownership(rules, tables)
        self._check_facts(rules)
        if self.src.problems:
            raise RuleFileError(self.src.problems)
        rule_stages, table_stages = self._stages(rules, tables)
        if self.src.problems:
            raise RuleFileError(self.src.problems)
        program: Program | None = None
        actions: dict[str, Action] = {}
        atoms: list[ir.Node] = []
        compiled: PyProgram | None = None
        if engine == "durable":
            program, actions, atoms = self._compile(name, rules, tables)
        else:
            self.deadline.check()
            compiled = PyProgram(
                name,
                rules,
                tables,
                self.outputs,
                self.values,
                max_firings,
                rule_stages,
                table_stages,
                self.inputs,
            )
        if self.src.problems:
            raise RuleFileError(self.src.problems)
        return Ruleset(
            name=name,
            description=str(doc.get("description", "")),
            path=self.path,
            version=self.version,
            inputs=self.inputs,
            outputs=self.outputs,
            rules=rules,
            tables=tables,
            max_firings=max_firings,
            program=program,
            actions=actions,
            atoms=atoms,
            kind=kind,
            facts=self.facts,
            compiled=compiled,
            engine=engine,
            values=self.values,
        )

    # ------------------------------------------------------------ pieces

    def _engine(self) -> str:
        """The engine asked for: by the caller, else by the file, else by the setting."""
        start = Pos(1, 1)
        asked = self.doc.get("engine")
        if asked is not None and asked not in ENGINES:
            self.err(
                value_pos(self.doc, "engine", start),
                f"unknown engine {asked!r}{suggest(str(asked), ENGINES)} "
                f"(engines: {', '.join(ENGINES)})",
            )
            asked = None
        engine = self.forced_engine or asked or _default_engine[0]
        if engine == "durable" and self.values:
            where = "engine" if self.doc.get("engine") == "durable" else "values"
            self.err(
                value_pos(self.doc, where, start),
                "intermediate values ('values') need the compiled engine: durable_rules "
                "cannot run a table before the rules that read it; remove 'engine: durable'",
            )
        return str(engine)

    def _values(self) -> None:
        """Read ``values``: named intermediate values that tables and rules decide and read."""
        start = Pos(1, 1)
        node = self.doc.get("values")
        self.values = read_schema(self.src, node, "values", value_pos(self.doc, "values", start))
        for name, spec in self.values.items():
            pos = key_pos(node, name, start)
            if name in RESERVED:
                self.err(pos, f"'{name}' is a word of the expression language; rename the value")
            elif name in self.inputs:
                self.err(pos, f"value '{name}' has the name of an input field; rename one")
            elif name in self.outputs:
                self.err(
                    pos,
                    f"value '{name}' has the name of an output; a value is read by rules and "
                    "tables, an output is the answer: give them different names",
                )
            elif spec.type not in VALUE_TYPES:
                self.err(
                    pos,
                    f"value '{name}' is a {spec.type}; a value is one of {', '.join(VALUE_TYPES)}",
                )

    def _stages(self, rules: list[Rule], tables: list[Table]) -> tuple[list[int], list[int]]:
        """Each rule's and table's stage; a cycle through values is reported here."""
        if not self.values:
            return [0] * len(rules), [0] * len(tables)
        units = [
            Unit(
                f"rule '{r.id}'",
                r.line,
                r.col,
                reads_values=frozenset(ir.value_names(r.condition)),
                writes_values=frozenset(k for k in (*r.set, *r.append) if k in self.values),
                reads_facts=frozenset(
                    n.name for n in ir.walk(r.condition) if isinstance(n, ir.Fact)
                ),
                asserts=frozenset(r.asserts),
            )
            for r in rules
        ]
        for t in tables:
            line, col = self.table_pos.get(t.id, (1, 1))
            units.append(
                Unit(
                    f"table '{t.id}'",
                    line,
                    col,
                    reads_values=frozenset(t.reads),
                    writes_values=frozenset(o for o in t.outputs if o in self.values),
                )
            )
        try:
            found = stages(units)
        except Cycle as cycle:
            first = cycle.chain[0][0]
            self.err(
                Pos(first.line, first.col),
                f"values depend on themselves: {cycle.describe()}; "
                "a value must be decided before what reads it",
            )
            return [0] * len(rules), [0] * len(tables)
        return found[: len(rules)], found[len(rules) :]

    def _limits(self) -> int:
        node = self.doc.get("limits")
        if node is None:
            return self.default_firings
        pos = value_pos(self.doc, "limits", Pos(1, 1))
        check_keys(self.src, node, ("max_firings",), "limits", pos)
        value = node.get("max_firings", self.default_firings) if isinstance(node, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.err(
                value_pos(node, "max_firings", pos),
                f"limits.max_firings must be a whole number of at least 1, got {value!r}",
            )
            return self.default_firings
        return value

    def _claim_id(self, node: Any, pos: Pos, what: str) -> str | None:
        rid = node.get("id")
        if not isinstance(rid, str) or not NAME.fullmatch(rid):
            self.err(
                value_pos(node, "id", pos),
                f"{what} needs an 'id' such as small-low-risk (lower case, digits, - and _),"
                f" got {rid!r}",
            )
            return None
        if rid in self.ids:
            first = self.ids[rid]
            self.err(
                value_pos(node, "id", pos),
                f"duplicate id '{rid}' (first used at line {first.line}); ids must be unique",
            )
            return None
        self.ids[rid] = value_pos(node, "id", pos)
        return rid

    def _expression(
        self, node: Any, key: str, pos: Pos, scope: expr.Scope, want: str | None
    ) -> ir.Node | None:
        text = node.get(key)
        vpos = value_pos(node, key, pos)
        if isinstance(text, bool):
            text = "true" if text else "false"
        if not isinstance(text, str | int | float) or not str(text).strip():
            self.err(vpos, f"'{key}' must be an expression such as amount > 500")
            return None
        return self._parse_at(str(text), text_start(self.src, text, vpos), scope, want)

    def _parse_at(
        self, text: str, start: Pos, scope: expr.Scope, want: str | None
    ) -> ir.Node | None:
        scope.errors = []
        result = expr.parse(text, scope, want=want)
        lead = len(text) - len(text.lstrip())
        for e in scope.errors:
            line, col = e.pos
            if line == 1:
                at = Pos(start.line, start.col + lead + col)
            else:
                raw = self.src.line_text(start.line + line - 1)
                at = Pos(start.line + line - 1, len(raw) - len(raw.lstrip()) + col + 1)
            self.err(at, e.message)
        return result

    def _rules(self) -> list[Rule]:
        node = self.doc.get("rules")
        if node is None:
            return []
        start = value_pos(self.doc, "rules", Pos(1, 1))
        if not isinstance(node, list):
            self.err(start, "'rules' must be a list of rules (each starting with '- id: ...')")
            return []
        rules = []
        for i, rnode in enumerate(node):
            self.deadline.check()
            pos = value_pos(node, i, start)
            if not isinstance(rnode, dict):
                self.err(pos, "each rule must be a mapping with id, when and then")
                continue
            pos = node_pos(rnode, pos)
            check_keys(self.src, rnode, RULE_KEYS, "a rule", pos)
            rid = self._claim_id(rnode, pos, "a rule")
            priority = rnode.get("priority", 0)
            if (
                not isinstance(priority, int)
                or isinstance(priority, bool)
                or abs(priority) > MAX_PRIORITY
            ):
                self.err(
                    value_pos(rnode, "priority", pos),
                    f"priority must be a whole number from -{MAX_PRIORITY} to "
                    f"{MAX_PRIORITY}, got {priority!r}",
                )
                priority = 0
            cond = None
            if "when" not in rnode:
                self.err(
                    pos,
                    f"{_label(rid)} has no 'when'; write the condition it fires on "
                    "(use 'when: true' for always)",
                )
            else:
                cond = self._expression(
                    rnode, "when", pos, expr.Scope(self.inputs, values=self.values), ir.BOOLEAN
                )
            then = self._then(rnode, pos, rid)
            if rid is None or cond is None or then is None:
                continue
            self.when_pos[rid] = value_pos(rnode, "when", pos)
            rules.append(
                Rule(
                    id=rid,
                    description=str(rnode.get("description", "")),
                    priority=priority,
                    when=str(rnode["when"]),
                    condition=cond,
                    paths=(*ir.input_paths(cond), *ir.value_names(cond)),
                    set=then[0],
                    append=then[1],
                    asserts=then[2],
                    stop=then[3],
                    line=pos.line,
                    col=pos.col,
                )
            )
        return rules

    def _then(
        self, rnode: Any, pos: Pos, rid: str | None
    ) -> tuple[dict[str, Any], dict[str, list[Any]], tuple[str, ...], bool] | None:
        node = rnode.get("then")
        tpos = value_pos(rnode, "then", pos)
        if not isinstance(node, dict) or not node:
            self.err(
                tpos if "then" in rnode else pos,
                f"{_label(rid)} needs 'then' with set, append, assert"
                + (", recommend" if self.is_playbook else "")
                + " or stop",
            )
            return None
        check_keys(
            self.src, node, PLAYBOOK_THEN_KEYS if self.is_playbook else THEN_KEYS, "'then'", tpos
        )
        sets: dict[str, Any] = {}
        appends: dict[str, list[Any]] = {}
        ok = True
        if "recommend" in node and self.is_playbook:
            items = read_recommend(
                self.src,
                node["recommend"],
                value_pos(node, "recommend", tpos),
                self.facts,
                self.catalogue,
                rid or "?",
            )
            if items is None:
                ok = False
            else:
                appends[RECOMMENDATIONS] = items
        for key, target in (("set", sets), ("append", appends)):
            values = node.get(key)
            if values is None:
                continue
            kpos = value_pos(node, key, tpos)
            if not isinstance(values, dict):
                self.err(kpos, f"'{key}' must map output names to values, e.g. {{route: auto}}")
                ok = False
                continue
            for out, value in values.items():
                vpos = key_pos(values, out, kpos)
                spec = self._output(str(out), vpos)
                if spec is None:
                    ok = False
                    continue
                if key == "append":
                    if spec.type != "list":
                        self.err(
                            vpos,
                            f"cannot append to '{out}': it is a {spec.type}; "
                            "use set, or declare it {type: list}",
                        )
                        ok = False
                        continue
                    items = value if isinstance(value, list) else [value]
                    item_spec = spec.items
                    if item_spec is not None and not self._value_ok(
                        FieldSpec(str(out), "list", items=item_spec), items, vpos, str(out)
                    ):
                        ok = False
                    target[str(out)] = list(items)
                elif self._value_ok(spec, value, value_pos(values, out, vpos), str(out)):
                    target[str(out)] = value
                else:
                    ok = False
        facts: list[str] = []
        if "assert" in node:
            raw = node["assert"]
            names = raw if isinstance(raw, list) else [raw]
            for f in names:
                if not isinstance(f, str) or not NAME.fullmatch(f):
                    self.err(
                        value_pos(node, "assert", tpos),
                        f"'assert' takes a fact name such as fraud-check (or a list), got {f!r}",
                    )
                    ok = False
                else:
                    facts.append(f)
        stop = node.get("stop", False)
        if not isinstance(stop, bool):
            self.err(value_pos(node, "stop", tpos), f"'stop' must be true or false, got {stop!r}")
            ok = False
        return (sets, appends, tuple(facts), bool(stop)) if ok else None

    def _output(self, name: str, pos: Pos) -> FieldSpec | None:
        spec = self.outputs.get(name) or self.values.get(name)
        if spec is None:
            known = [*self.outputs, *self.values]
            self.err(
                pos,
                f"unknown output '{name}'{suggest(name, known)} "
                f"(outputs: {', '.join(self.outputs) or 'none — declare them under output'}"
                + (f"; values: {', '.join(self.values)}" if self.values else "")
                + ")",
            )
        return spec

    def _value_ok(self, spec: FieldSpec, value: Any, pos: Pos, name: str) -> bool:
        errors: list[dict[str, Any]] = []
        check_value(spec, value, name, errors)
        for e in errors:
            self.err(pos, f"value for output {e['message']}")
        return not errors

    def _tables(self) -> list[Table]:
        node = self.doc.get("tables")
        if node is None:
            return []
        start = value_pos(self.doc, "tables", Pos(1, 1))
        if not isinstance(node, list):
            self.err(start, "'tables' must be a list of decision tables")
            return []
        tables = []
        for i, tnode in enumerate(node):
            pos = value_pos(node, i, start)
            if not isinstance(tnode, dict):
                self.err(pos, "each table must be a mapping with id, hit, inputs, outputs, rows")
                continue
            table = self._table(tnode, node_pos(tnode, pos))
            if table is not None:
                tables.append(table)
        return tables

    def _table(self, tnode: Any, pos: Pos) -> Table | None:
        check_keys(self.src, tnode, TABLE_KEYS, "a table", pos)
        tid = self._claim_id(tnode, pos, "a table")
        if tid is not None:
            self.table_pos[tid] = (pos.line, pos.col)
        ok = tid is not None
        hit = tnode.get("hit", "unique")
        if hit not in HIT_POLICIES:
            self.err(
                value_pos(tnode, "hit", pos),
                f"unknown hit policy {hit!r}{suggest(str(hit), HIT_POLICIES)} "
                f"(hit policies: {', '.join(HIT_POLICIES)})",
            )
            ok, hit = False, "unique"
        aggregate = tnode.get("aggregate")
        if aggregate is not None and (hit != "collect" or aggregate not in AGGREGATES):
            self.err(
                value_pos(tnode, "aggregate", pos),
                f"aggregate {aggregate!r} needs hit: collect and one of {', '.join(AGGREGATES)}",
            )
            ok = False
        raw_inputs = tnode.get("inputs")
        ipos = value_pos(tnode, "inputs", pos)
        if not isinstance(raw_inputs, list) or not raw_inputs:
            self.err(
                ipos, "'inputs' must be a list of input expressions, e.g. [department, amount]"
            )
            return None
        columns: list[str] = []
        paths: dict[str, None] = {}
        reads: dict[str, None] = {}
        split = _split_by_yaml([str(t) for t in raw_inputs])
        if split is not None:
            self.err(
                ipos,
                f"YAML split the input expression {split!r} at its comma(s) (a [..] list "
                "separates items by commas); quote each expression that has a comma, e.g. "
                f"""inputs: [category, '{split}']""",
            )
            return None
        for j, text in enumerate(raw_inputs):
            node = self._parse_at(
                str(text),
                text_start(self.src, text, value_pos(raw_inputs, j, ipos)),
                expr.Scope(self.inputs, allow_facts=False, values=self.values),
                None,
            )
            if node is None:
                ok = False
            else:
                paths.update(dict.fromkeys(ir.input_paths(node)))
                reads.update(dict.fromkeys(ir.value_names(node)))
            columns.append(str(text))
        outputs, ranks = self._table_outputs(tnode, pos, hit, aggregate)
        if outputs is None:
            return None
        rows = self._rows(tnode, pos, columns, outputs, hit, tid or "")
        if not ok or rows is None:
            return None
        assert tid is not None
        return Table(
            id=tid,
            description=str(tnode.get("description", "")),
            hit=hit,
            aggregate=aggregate,
            inputs=tuple(columns),
            input_paths=tuple(paths),
            outputs=tuple(outputs),
            rows=tuple(rows),
            ranks=ranks,
            reads=tuple(reads),
        )

    def _table_outputs(
        self, tnode: Any, pos: Pos, hit: str, aggregate: str | None
    ) -> tuple[list[str] | None, dict[str, tuple[Any, ...]]]:
        raw = tnode.get("outputs")
        opos = value_pos(tnode, "outputs", pos)
        if not isinstance(raw, list) or not raw:
            self.err(opos, "'outputs' must list the output names each row fills, e.g. [sla_hours]")
            return None, {}
        ranks: dict[str, tuple[Any, ...]] = {}
        names: list[str] = []
        for j, name in enumerate(raw):
            npos = value_pos(raw, j, opos)
            spec = self._output(str(name), npos)
            if spec is None:
                return None, {}
            names.append(str(name))
            rank = output_rank(spec)
            if rank is not None:
                ranks[str(name)] = rank
            if aggregate is None and hit in LISTING and spec.type != "list":
                self.err(
                    npos,
                    f"hit policy {hit} collects every matching row, so output "
                    f"'{name}' must be {{type: list}} (or use aggregate: sum|min|max|count)",
                )
                return None, {}
            if aggregate is not None and spec.type not in ("number", "integer"):
                self.err(
                    npos, f"aggregate {aggregate} needs a number output, '{name}' is {spec.type}"
                )
                return None, {}
        if aggregate is not None and len(names) != 1:
            self.err(opos, f"aggregate {aggregate} works on exactly one output column")
            return None, {}
        if hit in ("priority", "output order") and not ranks:
            self.err(
                value_pos(tnode, "hit", pos),
                f"hit policy {hit} ranks rows by an output's enum order; give output "
                f"'{names[0]}' an enum (first value = highest priority)",
            )
            return None, {}
        return names, ranks

    def _rows(
        self, tnode: Any, pos: Pos, columns: list[str], outputs: list[str], hit: str, tid: str
    ) -> list[Row] | None:
        raw = tnode.get("rows")
        rpos = value_pos(tnode, "rows", pos)
        if not isinstance(raw, list) or not raw:
            self.err(rpos, "'rows' must be a list of rows, each [cell, ..., output, ...]")
            return None
        width = len(columns) + len(outputs)
        rows: list[Row] = []
        ok = True
        positions = self.row_pos.setdefault(tid, [])
        for n, row in enumerate(raw, start=1):
            self.deadline.check()
            row_pos = value_pos(raw, n - 1, rpos)
            positions.append(row_pos)
            if not isinstance(row, list) or len(row) != width:
                got = len(row) if isinstance(row, list) else type(row).__name__
                self.err(
                    row_pos,
                    f"row {n} must have {len(columns)} input cell(s) and "
                    f"{len(outputs)} output value(s) ({width} in all), got {got}",
                )
                ok = False
                continue
            parts: list[ir.Node] = []
            for j, cell in enumerate(row[: len(columns)]):
                cpos = value_pos(row, j, row_pos)
                try:
                    text = cell_expression(cell, columns[j])
                except CellError as exc:
                    self.err(cpos, f"row {n}, input '{columns[j]}': {exc}")
                    ok = False
                    continue
                if text is None:
                    continue
                scope = expr.Scope(self.inputs, allow_facts=False, values=self.values)
                scope.errors = []
                node = expr.parse(text, scope, want=ir.BOOLEAN)
                for e in scope.errors:
                    self.err(cpos, f"row {n}, input '{columns[j]}', cell {cell!r}: {e.message}")
                if node is None:
                    ok = False
                else:
                    parts.append(node)
            values: dict[str, Any] = {}
            for j, name in enumerate(outputs):
                value = row[len(columns) + j]
                spec = self.outputs.get(name) or self.values[name]
                if spec.type == "list" and not isinstance(value, list):
                    check = FieldSpec(name, "list", items=spec.items)
                    good = self._value_ok(
                        check, [value], value_pos(row, len(columns) + j, row_pos), name
                    )
                else:
                    good = self._value_ok(
                        spec, value, value_pos(row, len(columns) + j, row_pos), name
                    )
                ok = ok and good
                if spec.type == "list":  # a single item stands for a list of one
                    values[name] = list(value) if isinstance(value, list) else [value]
                else:
                    values[name] = value
            cond: ir.Node = (
                ir.And((1, 0), tuple(parts)) if parts else ir.Const((1, 0), True, ir.BOOLEAN)
            )
            cells = tuple(_cell_text(c) for c in row[: len(columns)])
            rows.append(Row(number=n, condition=cond, values=values, cells=cells))
        return rows if ok else None

    def _check_ownership(self, rules: list[Rule], tables: list[Table]) -> None:
        for table in tables:
            for name in table.outputs:
                if (self.outputs.get(name) or self.values[name]).type == "list":
                    continue
                for rule in rules:
                    if name in rule.set:
                        self.err(
                            Pos(rule.line, rule.col),
                            f"{'value' if name in self.values else 'output'} '{name}' is set "
                            f"both by rule '{rule.id}' and by table "
                            f"'{table.id}'; give each output one owner",
                        )

    def _check_facts(self, rules: list[Rule]) -> None:
        asserted = {f for r in rules for f in r.asserts}
        for rule in rules:
            for node in ir.walk(rule.condition):
                if isinstance(node, ir.Fact) and node.name not in asserted:
                    self.err(
                        Pos(rule.line, rule.col),
                        f"rule '{rule.id}' matches fact(\"{node.name}\") but no rule "
                        f"asserts it{suggest(node.name, asserted)}",
                    )

    # ------------------------------------------------------------ compiling

    def _compile(
        self, name: str, rules: list[Rule], tables: list[Table]
    ) -> tuple[Program | None, dict[str, Action], list[ir.Node]]:
        atoms = Atoms()
        definition: dict[str, Any] = {}
        actions: dict[str, Action] = {}
        where: dict[str, Pos] = {}
        for t, table in enumerate(tables):
            positions = self.row_pos.get(table.id, [])
            for row in table.rows:
                self.deadline.check()
                key = f"t{t}_{row.number}"
                known = row.number <= len(positions)
                where[key] = positions[row.number - 1] if known else Pos(1, 1)
                try:
                    cond = condition(row.condition, atoms)
                except CompileError as exc:
                    self.err(where[key], f"table '{table.id}', row {row.number}: {exc}")
                    continue
                definition[key] = {"all": [{"m": cond}], "pri": ROW_PRI}
                actions[key] = Action("row", t, row.number - 1)
        if len(rules) > MAX_RULES:
            self.err(Pos(1, 1), f"{len(rules)} rules in one file; at most {MAX_RULES}")
        order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
        rank = {i: 1 + n for n, i in enumerate(order)}
        for i, rule in enumerate(rules):
            self.deadline.check()
            key = f"r{i}"
            where[key] = self.when_pos.get(rule.id, Pos(rule.line, rule.col))
            try:
                cond = condition(rule.condition, atoms)
            except CompileError as exc:
                self.err(where[key], f"rule '{rule.id}': {exc}")
                continue
            definition[key] = {"all": [{"m": cond}], "pri": rank[i]}
            actions[key] = Action("rule", i)
        if self.src.problems:
            raise RuleFileError(self.src.problems)
        self._check_engine(definition, where, actions, rules, tables)
        eager = any(ir.has_fact(r.condition) and may_hold_without_facts(r.condition) for r in rules)
        self.deadline.check()
        try:
            program = Program(f"{name}@{self.version[:12]}", definition, facts_from_start=eager)
        except Exception as exc:  # noqa: BLE001 - durable_rules_engine.error, untyped
            self.err(Pos(1, 1), durable_guard.translate(str(exc)))
            raise RuleFileError(self.src.problems) from None
        return program, actions, atoms.nodes

    def _check_engine(
        self,
        definition: dict[str, Any],
        where: dict[str, Pos],
        actions: dict[str, Action],
        rules: list[Rule],
        tables: list[Table],
    ) -> None:
        """Refuse what durable_rules would hang or fail on, before it is built in this process."""
        refusal, unsure = durable_guard.check(definition)
        message = refusal.message if refusal is not None else None
        key = refusal.key if refusal is not None else None
        if message is None and unsure:
            message = durable_guard.probe(definition, self.deadline.left())
        if message is None:
            return
        pos = where.get(key, Pos(1, 1)) if key is not None else Pos(1, 1)
        action = actions.get(key) if key is not None else None
        if action is not None and action.kind == "rule":
            message = f"rule '{rules[action.index].id}': {message}"
        elif action is not None:
            message = f"table '{tables[action.index].id}', row {action.row + 1}: {message}"
        self.err(pos, message)
        raise RuleFileError(self.src.problems)


def _split_by_yaml(items: list[str]) -> str | None:
    """The expression YAML cut in pieces at its commas, rejoined; None if nothing was cut."""
    k = 0
    while k < len(items):
        depth = items[k].count("(") - items[k].count(")")
        depth += items[k].count("[") - items[k].count("]")
        if depth > 0:
            end = k
            while depth > 0 and end + 1 < len(items):
                end += 1
                depth += items[end].count("(") - items[end].count(")")
                depth += items[end].count("[") - items[end].count("]")
            if end > k and depth == 0:
                return ", ".join(items[k : end + 1])
        k += 1
    return None


def _cell_text(cell: Any) -> str:
    """Give a table cell as an author wrote it; an empty cell is '-' (any value)."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return "-"
    if isinstance(cell, bool):
        return "true" if cell else "false"
    return str(cell).strip()


def _label(rid: str | None) -> str:
    return f"rule '{rid}'" if rid else "this rule"
