"""Load a rule file: read, check everything, compile once; refuse the file on any mistake.

Here the file's top is read (name, schemas, values, limits, engine, the order of values);
``read_rules`` reads its rules and ``read_tables`` its tables, both on the shared state of
``filereader.FileReader``; ``build_durable`` builds a durable_rules program, ``pyengine`` the
compiled engine's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path

from . import ir, limits
from .build_durable import DurableBuilder
from .catalogue import catalogue_ids
from .depends import Cycle, Unit, stages
from .errors import Problem, RuleFileError
from .feel.reader import FeelReader
from .filereader import NAME, RESERVED
from .model import ENGINES, Action, Rule, Ruleset
from .playbook import RECOMMENDATIONS, read_facts
from .pyengine import PyProgram
from .read_rules import RuleReader
from .read_tables import TableReader
from .runtime import Program
from .schema import FieldSpec, read_schema
from .source import Pos, check_keys, key_pos, parse_yaml, read_source, suggest, value_pos
from .tables import Table

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
    "expressions",
    "functions",
    "compute",
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
EXPRESSION_LANGUAGES = ("casewise", "feel")
DMN_SUFFIX = ".dmn"


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
    if path.suffix == DMN_SUFFIX:
        from .dmn.convert import dmn_rule_file  # a .dmn file is read as the YAML it imports to

        src, data = dmn_rule_file(path, data)
    else:
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


class _Loader(RuleReader, TableReader, DurableBuilder):
    """Reads a whole rule file and builds its Ruleset on the engine it runs on."""

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
        self._expressions()
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
        if self.feel_reader is not None:  # computed values first: they feed tables more often
            tables = self.feel_reader.computed() + tables
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
        if engine == "durable" and self.feel_reader is not None:
            where = "engine" if self.doc.get("engine") == "durable" else "expressions"
            self.err(
                value_pos(self.doc, where, start),
                "FEEL ('expressions: feel') runs on the compiled engine only: durable_rules "
                "cannot evaluate FEEL's decimals and nulls; remove 'engine: durable'",
            )
        if engine == "durable" and self.values:
            where = "engine" if self.doc.get("engine") == "durable" else "values"
            self.err(
                value_pos(self.doc, where, start),
                "intermediate values ('values') need the compiled engine: durable_rules "
                "cannot run a table before the rules that read it; remove 'engine: durable'",
            )
        return str(engine)

    def _expressions(self) -> None:
        """``expressions``: the language of the file's expressions (FEEL for DMN models)."""
        start = Pos(1, 1)
        language = self.doc.get("expressions", "casewise")
        self.feel_reader = None
        if language not in EXPRESSION_LANGUAGES:
            self.err(
                value_pos(self.doc, "expressions", start),
                f"unknown expression language {language!r}"
                f"{suggest(str(language), EXPRESSION_LANGUAGES)} "
                f"(languages: {', '.join(EXPRESSION_LANGUAGES)})",
            )
            return
        if language == "feel":
            self.feel_reader = FeelReader(self)
            self.feel_reader.read_functions()
            return
        for key in ("functions", "compute"):
            if key in self.doc:
                self.err(
                    key_pos(self.doc, key, start),
                    f"'{key}' is FEEL (DMN) and needs 'expressions: feel' at the top of the file",
                )

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
