"""One DMN model being converted: names claimed as field names, FEEL text rewritten with them
and checked, DMN types as field specs; the checks the decisions and tables share."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from ..errors import Problem, RuleFileError
from ..feel.builtins import FUNCTIONS
from ..feel.evaluate import Scope, compile_expression, is_constant, to_casewise
from ..feel.parser import FeelSyntaxError, Node, parse_expression, parse_unary_tests
from ..feel.printer import render, render_tests
from . import model as m
from .imported import ident, slug

SIMPLE_TYPES = {
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "dateTime": "datetime",
    "date and time": "datetime",
}
UNSUPPORTED_TYPES = ("time", "duration", "dayTimeDuration", "yearMonthDuration", "context")
VALUE_TYPES = ("number", "string", "boolean", "list")


class ModelConverter:
    """The state of one model being converted, and its FEEL text and types."""

    def __init__(self, path: Path, model: m.Model, name: str | None) -> None:
        self.path, self.model = path, model
        self.name = name or slug(model.name)
        self.used: set[str] = set()
        self.names: dict[str, str] = {}  # DMN variable name -> field name

    def fail(self, line: int, message: str) -> RuleFileError:
        return RuleFileError([Problem(str(self.path), line, 1, message)])

    def claim(self, name: str) -> str:
        base = ident(name)
        out, n = base, 2
        while out in self.used:
            out, n = f"{base}_{n}", n + 1
        self.used.add(out)
        return out

    # ------------------------------------------------------------ FEEL text

    def feel(self, text: str, line: int, what: str, rename: dict[str, str] | None = None) -> str:
        """FEEL ``text`` with DMN names replaced by field names, checked to parse."""
        names = rename if rename is not None else self.names
        try:
            node = parse_expression(text)
        except FeelSyntaxError as exc:
            raise self.fail(line, f"{what}: {exc}") from None
        self.check_names(node, names, line, what)
        return render(node, lambda n: names.get(n) or ident(n))

    def check_names(self, node: Node, names: dict[str, str], line: int, what: str) -> None:
        """Refuse, at the .dmn line, a name the model does not define."""
        if node.kind == "name" and node.args[0] not in names:
            near = difflib.get_close_matches(node.args[0], list(names), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise self.fail(line, f"{what}: unknown name '{node.args[0]}'{hint}")
        if node.kind == "call":
            callee, args = node.args
            name = callee.args[0] if callee.kind == "name" else None
            if name not in names and name not in FUNCTIONS:
                raise self.fail(line, f"{what}: unknown function {name}()")
            children: list[Any] = list(args)
        elif node.kind == "path":
            children = [node.args[0]]
        else:
            children = [a for a in node.args if isinstance(a, Node)]
            children += [x for a in node.args if isinstance(a, tuple) for x in a]
        for child in children:
            if isinstance(child, Node):
                self.check_names(child, names, line, what)

    def tests(self, text: str, line: int, what: str) -> str:
        try:
            node = parse_unary_tests(text)
        except FeelSyntaxError as exc:
            raise self.fail(line, f"{what}: {exc}") from None
        self.check_names(node, self.names, line, what)
        return render_tests(node, _Renamer(self.names))

    def constants(self, text: str | None, line: int, what: str) -> list[Any] | None:
        """The values listed by FEEL unary tests such as ``"a", "b"``; None when absent."""
        if text is None:
            return None
        try:
            node = parse_unary_tests(text)
        except FeelSyntaxError as exc:
            raise self.fail(line, f"{what}: {exc}") from None
        if node.kind != "tests" or node.args[0]:
            raise self.fail(line, f"{what}: {text!r} is not a list of values")
        out = []
        for test in node.args[1]:
            if test.kind != "equal_test" or not is_constant(test.args[0]):
                raise self.fail(
                    line,
                    f"{what}: {text!r} is not a list of values; Casewise reads allowed "
                    "values as a list of constants",
                )
            out.append(_constant(test.args[0]))
        return out

    # ------------------------------------------------------------ types

    def field_spec(self, type_ref: str | None, line: int, what: str) -> dict[str, Any]:
        if type_ref is None:
            raise self.fail(line, f"{what} has no typeRef; give it one (number, string, ...)")
        if type_ref in SIMPLE_TYPES:
            return {"type": SIMPLE_TYPES[type_ref]}
        if type_ref in UNSUPPORTED_TYPES:
            raise self.fail(line, f"{what}: FEEL type {type_ref!r} is not supported")
        item = self.model.items.get(type_ref)
        if item is None:
            raise self.fail(line, f"{what}: unknown typeRef {type_ref!r}")
        return self.item_spec(item, what)

    def item_spec(self, item: m.ItemType, what: str) -> dict[str, Any]:
        if item.components:
            spec: dict[str, Any] = {
                "type": "object",
                "fields": {
                    ident(k): self.item_spec(v, f"{what}.{k}") for k, v in item.components.items()
                },
            }
        else:
            spec = dict(self.field_spec(item.base, item.line, what))
            enum = self.constants(item.allowed, item.line, f"{what}: allowed values")
            if enum is not None:
                spec["enum"] = enum
        if item.collection:
            return {"type": "list", "items": spec}
        return spec

    def _check_value(
        self,
        target: dict[str, Any],
        values: dict[str, Any],
        spec: dict[str, Any],
        line: int,
        what: str,
    ) -> None:
        if target is values and spec["type"] not in VALUE_TYPES:
            raise self.fail(
                line,
                f"{what} is read by another decision and is a {spec['type']}; a decision "
                f"another reads must be one of {', '.join(VALUE_TYPES)}",
            )


class _Renamer(dict[str, str]):
    """Names to field names: a known DMN name, or the field name it would get."""

    def __missing__(self, key: str) -> str:
        return ident(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


def _constant(node: Node) -> Any:
    return to_casewise(compile_expression(node, Scope()).fn({}))


def constant_text(text: str) -> Any:
    try:
        node = parse_expression(text)
    except FeelSyntaxError:
        return None
    return _constant(node) if is_constant(node) else None


def is_null(text: str) -> bool:
    return text.strip() == "null"
