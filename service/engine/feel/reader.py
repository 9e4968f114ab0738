"""Reading the FEEL parts of a rule file that says ``expressions: feel``.

Table input expressions, input entries (unary tests), output entries, rule conditions, the
``functions`` (business knowledge models) and ``compute`` (literal expressions: a value or
output computed from a FEEL expression) are FEEL text. Each becomes an ``ir.Feel`` node or
a ``FeelTable``, so the engine runs them like any other table or condition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import ir
from ..filereader import NAME, FileReader
from ..schema import FieldSpec
from ..source import Pos, check_keys, key_pos, text_start, value_pos
from ..tables import Row
from .evaluate import (
    Compiled,
    FeelError,
    Function,
    Scope,
    compile_expression,
    compile_tests,
    is_constant,
    to_casewise,
)
from .parser import FeelSyntaxError, Node, parse_expression, parse_unary_tests
from .tables import Computed, FeelTable

FUNCTION_KEYS = ("parameters", "body", "description")
_TYPES = {"integer": "number"}


class FeelReader:
    """The FEEL side of one rule file being read (``reader`` is the file's loader)."""

    def __init__(self, reader: FileReader) -> None:
        self.r = reader
        self.functions: dict[str, Function] = {}

    # ------------------------------------------------------------ names and text

    def scope(self) -> Scope:
        names: dict[str, tuple[str, str]] = {}
        for schema in (self.r.inputs, self.r.values):
            for name, spec in schema.items():
                names[name] = (name, _TYPES.get(spec.type, spec.type))
        return Scope(names=names, functions=self.functions)

    def _compile(self, text: Any, pos: Pos, scope: Scope, what: str) -> Compiled | None:
        """``text`` compiled as a FEEL expression; mistakes reported at ``pos``."""
        node = self._parse(text, pos, what, tests=False)
        if node is None:
            return None
        try:
            return compile_expression(node, scope)
        except FeelError as exc:
            self.r.err(pos, f"{what}: {exc}")
            return None

    def _parse(self, text: Any, pos: Pos, what: str, *, tests: bool) -> Node | None:
        src = _text(text)
        try:
            return parse_unary_tests(src) if tests else parse_expression(src)
        except FeelSyntaxError as exc:
            at = Pos(pos.line, pos.col + exc.column - 1) if isinstance(text, str) else pos
            self.r.err(at, f"{what}: {exc}")
            return None

    def _reads(self, scope: Scope) -> tuple[ir.Path, ...]:
        paths = []
        for key in scope.reads:
            if key in self.r.values:
                paths.append(ir.Path((1, 0), (key,), "value", self.r.values[key]))
            elif key in self.r.inputs:
                paths.append(ir.Path((1, 0), (key,), "input", self.r.inputs[key]))
        return tuple(paths)

    # ------------------------------------------------------------ functions

    def read_functions(self) -> None:
        """``functions``: name -> {parameters: [...], body: FEEL}, in the order written."""
        node = self.r.doc.get("functions")
        if node is None:
            return
        start = value_pos(self.r.doc, "functions", Pos(1, 1))
        if not isinstance(node, dict):
            self.r.err(start, "'functions' must map function names to {parameters, body}")
            return
        for name, fnode in node.items():
            pos = key_pos(node, name, start)
            if not isinstance(fnode, dict):
                self.r.err(pos, f"function '{name}' must be a mapping with parameters and body")
                continue
            check_keys(self.r.src, fnode, FUNCTION_KEYS, f"function '{name}'", pos)
            params = fnode.get("parameters", [])
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                self.r.err(
                    value_pos(fnode, "parameters", pos),
                    f"function '{name}': 'parameters' must list parameter names, e.g. [p, r, n]",
                )
                continue
            scope = Scope(
                names={p: (p, "any") for p in params},
                functions=self.functions,
            )
            body = fnode.get("body")
            bpos = text_start(self.r.src, body, value_pos(fnode, "body", pos))
            compiled = self._compile(body, bpos, scope, f"function '{name}'")
            if compiled is not None:
                self.functions[str(name)] = Function(str(name), tuple(params), compiled.fn)

    # ------------------------------------------------------------ conditions

    def condition(self, rnode: Any, pos: Pos) -> ir.Node | None:
        """A rule's ``when`` as a FEEL boolean expression."""
        text = rnode.get("when")
        vpos = text_start(self.r.src, text, value_pos(rnode, "when", pos))
        scope = self.scope()
        compiled = self._compile(text, vpos, scope, "condition")
        if compiled is None:
            return None
        fn = compiled.fn
        return ir.Feel((1, 0), lambda d: fn(d) is True, self._reads(scope), ir.BOOLEAN, _text(text))

    # ------------------------------------------------------------ tables

    def table(
        self, tnode: Any, pos: Pos, tid: str | None, hit: str, aggregate: str | None, ok: bool
    ) -> FeelTable | None:
        """A decision table whose inputs, cells and output entries are FEEL."""
        raw_inputs = tnode.get("inputs")
        ipos = value_pos(tnode, "inputs", pos)
        if not isinstance(raw_inputs, list):
            self.r.err(ipos, "'inputs' must be a list of FEEL input expressions, e.g. [Age]")
            return None
        columns: list[Any] = []
        reads: dict[str, ir.Path] = {}
        for j, text in enumerate(raw_inputs):
            scope = self.scope()
            cpos = text_start(self.r.src, text, value_pos(raw_inputs, j, ipos))
            compiled = self._compile(text, cpos, scope, f"input {_text(text)!r}")
            if compiled is None:
                ok = False
                columns.append(None)
                continue
            for path in self._reads(scope):
                reads.setdefault(path.dotted, path)
            columns.append(compiled.fn)
        outputs, ranks = self.r._table_outputs(tnode, pos, hit, aggregate)  # type: ignore[attr-defined]
        if outputs is None:
            return None
        rows = self._rows(tnode, pos, raw_inputs, columns, outputs, tid or "")
        if not ok or rows is None or tid is None:
            return None
        return FeelTable(
            id=tid,
            description=str(tnode.get("description", "")),
            hit=hit,
            aggregate=aggregate,
            inputs=tuple(_text(t) for t in raw_inputs),
            input_paths=tuple(p.dotted for p in reads.values() if p.scope == "input"),
            outputs=tuple(outputs),
            rows=tuple(rows),
            ranks=ranks,
            reads=tuple(p.parts[0] for p in reads.values() if p.scope == "value"),
            computed=any(isinstance(v, Computed) for r in rows for v in r.values.values()),
        )

    def _rows(
        self,
        tnode: Any,
        pos: Pos,
        raw_inputs: list[Any],
        columns: list[Any],
        outputs: list[str],
        tid: str,
    ) -> list[Row] | None:
        raw = tnode.get("rows")
        rpos = value_pos(tnode, "rows", pos)
        if not isinstance(raw, list) or not raw:
            self.r.err(rpos, "'rows' must be a list of rows, each [cell, ..., output, ...]")
            return None
        width = len(columns) + len(outputs)
        rows: list[Row] = []
        ok = True
        positions = self.r.row_pos.setdefault(tid, [])
        for n, row in enumerate(raw, start=1):
            self.r.deadline.check()
            row_pos = value_pos(raw, n - 1, rpos)
            positions.append(row_pos)
            if not isinstance(row, list) or len(row) != width:
                got = len(row) if isinstance(row, list) else type(row).__name__
                self.r.err(
                    row_pos,
                    f"row {n} must have {len(columns)} input entr(ies) and {len(outputs)} "
                    f"output entr(ies) ({width} in all), got {got}",
                )
                ok = False
                continue
            cells: list[ir.Node] = []
            for j, cell in enumerate(row[: len(columns)]):
                node = self._cell(cell, value_pos(row, j, row_pos), columns[j], raw_inputs[j], n)
                if node is False:
                    ok = False
                elif node is not None:
                    cells.append(node)
            values: dict[str, Any] = {}
            for j, name in enumerate(outputs):
                vpos = value_pos(row, len(columns) + j, row_pos)
                value = self._output_entry(row[len(columns) + j], vpos, name, n)
                if value is _BAD:
                    ok = False
                else:
                    values[name] = value
            cond: ir.Node = (
                ir.And((1, 0), tuple(cells)) if cells else ir.Const((1, 0), True, ir.BOOLEAN)
            )
            texts = tuple(_text(c) or "-" for c in row[: len(columns)])
            rows.append(Row(number=n, condition=cond, values=values, cells=texts))
        return rows if ok else None

    def _cell(self, cell: Any, cpos: Pos, column: Any, input_text: Any, n: int) -> Any:
        """The condition of one input entry: an ir.Feel, None for '-', False if reported."""
        text = _text(cell)
        if not text.strip() or text.strip() == "-":
            return None
        what = f"row {n}, input {_text(input_text)!r}, entry {text!r}"
        at = text_start(self.r.src, cell, cpos) if isinstance(cell, str) else cpos
        node = self._parse(cell, at, what, tests=True)
        if node is None or column is None:
            return False
        scope = self.scope()
        try:
            test = compile_tests(node, scope)
        except FeelError as exc:
            self.r.err(at, f"{what}: {exc}")
            return False
        get = column

        def matches(d: Any) -> bool:
            return test(get(d), d) is True

        return ir.Feel((1, 0), matches, self._reads(scope), ir.BOOLEAN, text)

    def _output_entry(self, value: Any, vpos: Pos, name: str, n: int) -> Any:
        """An output entry: a constant checked against the output now, or a Computed."""
        spec = self.r.outputs.get(name) or self.r.values[name]
        as_list = spec.type == "list"
        if isinstance(value, list):
            self.r.err(vpos, f"row {n}, output '{name}': write one FEEL expression, not a list")
            return _BAD
        at = text_start(self.r.src, value, vpos) if isinstance(value, str) else vpos
        what = f"row {n}, output '{name}'"
        node = self._parse(value, at, what, tests=False)
        if node is None:
            return _BAD
        scope = self.scope()
        try:
            compiled = compile_expression(node, scope)
        except FeelError as exc:
            self.r.err(at, f"{what}: {exc}")
            return _BAD
        if not is_constant(node):
            return Computed(_casewise(compiled.fn), _text(value), as_list)
        constant = to_casewise(compiled.fn({}))
        check = FieldSpec(name, "list", items=spec.items) if as_list else spec
        if constant is not None and not self.r._value_ok(
            check, [constant] if as_list else constant, vpos, name
        ):
            return _BAD
        return [constant] if as_list else constant

    # ------------------------------------------------------------ compute

    def computed(self) -> list[FeelTable]:
        """``compute``: output or value name -> FEEL expression, each a one-row table."""
        node = self.r.doc.get("compute")
        if node is None:
            return []
        start = value_pos(self.r.doc, "compute", Pos(1, 1))
        if not isinstance(node, dict):
            self.r.err(start, "'compute' must map output or value names to FEEL expressions")
            return []
        tables: list[FeelTable] = []
        for name, text in node.items():
            pos = key_pos(node, name, start)
            spec = self.r._output(str(name), pos)
            if spec is None:
                continue
            tid = str(name).lower().replace(" ", "-")
            if not NAME.fullmatch(tid):
                tid = "compute-" + str(len(tables) + 1)
            if tid in self.r.ids:
                self.r.err(pos, f"'{name}' is computed but a rule or table has the id '{tid}'")
                continue
            self.r.ids[tid] = pos
            self.r.table_pos[tid] = (pos.line, pos.col)
            vpos = text_start(self.r.src, text, value_pos(node, name, pos))
            scope = self.scope()
            compiled = self._compile(text, vpos, scope, f"compute '{name}'")
            if compiled is None:
                continue
            fn, as_list = compiled.fn, spec.type == "list"
            reads = self._reads(scope)
            self.r.row_pos[tid] = [vpos]
            row = Row(
                number=1,
                condition=ir.Const((1, 0), True, ir.BOOLEAN),
                values={str(name): Computed(_casewise(fn), _text(text), as_list)},
                cells=(),
            )
            tables.append(
                FeelTable(
                    id=tid,
                    description=f"{name} = {_text(text)}",
                    hit="unique",
                    aggregate=None,
                    inputs=(),
                    input_paths=tuple(p.dotted for p in reads if p.scope == "input"),
                    outputs=(str(name),),
                    rows=(row,),
                    ranks={},
                    reads=tuple(p.parts[0] for p in reads if p.scope == "value"),
                    computed=True,
                )
            )
        return tables


_BAD = object()


def _casewise(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A FEEL closure whose value the engine holds (decimals as int or float)."""
    return lambda d: to_casewise(fn(d))


def _text(value: Any) -> str:
    """A YAML scalar as FEEL text: true/false, numbers as written, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
