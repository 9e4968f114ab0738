"""The DMN TCK runner: import each model, run each test case, compare as the TCK does.

A folder of the TCK (``compliance-level-2/``) holds one folder per model, each with the
model (``X.dmn``) and test files (``X-test-01.xml``: the input nodes of each test case and
the expected value of each result node). Results are compared by value: decimals by
value (see ``same``), strings and booleans exactly, lists in order, contexts by their
components, null only with null.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import CasewiseError, RuleFileError
from ..feel.builtins import to_feel
from ..feel.evaluate import to_casewise
from ..loader import load_ruleset
from .convert import import_file
from .imported import Imported, Result, ident
from .xmlsafe import parse_xml, read_bytes

TEST_NS = "http://www.omg.org/spec/DMN/20160719/testcase"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
# decimals closer than this are equal: the TCK's expected results were computed by engines
# whose arithmetic is not decimal128 throughout (its Drools runner compares the same way)
NUMBER_PRECISION = Decimal("0.00000001")


@dataclass
class CaseResult:
    model: str
    case: str
    passed: bool
    failures: list[str] = field(default_factory=list)


@dataclass
class ModelResult:
    model: str
    cases: list[CaseResult] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.cases)

    @property
    def failed(self) -> int:
        return len(self.cases) - self.passed


def model_dirs(root: Path) -> list[Path]:
    """The folders under ``root`` (or ``root`` itself) that hold a model and its tests."""
    if any(root.glob("*.dmn")):
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_dir() and any(p.glob("*.dmn")))


def run_dir(root: Path) -> list[ModelResult]:
    """Every test case of every model under ``root``."""
    return [run_model(d) for d in model_dirs(root)]


def run_model(folder: Path) -> ModelResult:
    tests = sorted(folder.glob("*-test-*.xml"))
    result = ModelResult(folder.name)
    cases: list[tuple[str, ET.Element, Path]] = []
    for test in tests:
        doc = parse_xml(test, read_bytes(test))
        for case in doc.root.iter(f"{{{TEST_NS}}}testCase"):
            cases.append((case.get("id", "?"), case, test))
    dmn_files = sorted(folder.glob("*.dmn"))
    try:
        if len(dmn_files) != 1:
            raise ValueError(f"{folder} holds {len(dmn_files)} .dmn files; the runner needs one")
        imported = import_file(dmn_files[0])
        ruleset = load_ruleset(
            dmn_files[0].with_name(imported.name + ".yaml"), data=imported.yaml().encode()
        )
    except (RuleFileError, ValueError) as exc:
        message = (
            "; ".join(str(p) for p in exc.problems) if isinstance(exc, RuleFileError) else str(exc)
        )
        result.error = message
        result.cases = [CaseResult(folder.name, cid, False, [message]) for cid, _, _ in cases]
        return result
    for cid, case, _ in cases:
        result.cases.append(_run_case(folder.name, cid, case, imported, ruleset))
    return result


def _run_case(
    model: str, cid: str, case: ET.Element, imported: Imported, ruleset: Any
) -> CaseResult:
    if case.get("type", "decision") != "decision":
        return CaseResult(model, cid, False, [f"test case type {case.get('type')} is not run"])
    data: dict[str, Any] = {}
    for node in case.findall(f"{{{TEST_NS}}}inputNode"):
        name = node.get("name", "")
        key = imported.inputs.get(name)
        if key is None:
            return CaseResult(model, cid, False, [f"the model has no input data '{name}'"])
        value = to_casewise(read_value(node))
        if value is not None:
            data[key] = _keys(value)
    try:
        decision = ruleset.evaluate(data, today=dt.date(2026, 1, 1))
    except CasewiseError as exc:
        return CaseResult(model, cid, False, [f"no decision: {exc}"])
    found = {**decision.values, **decision.outputs}
    failures = []
    for node in case.findall(f"{{{TEST_NS}}}resultNode"):
        name = node.get("name", "")
        where = imported.results.get(name)
        if where is None:
            failures.append(f"'{name}': the model has no decision of that name")
            continue
        expected_node = node.find(f"{{{TEST_NS}}}expected")
        expected = None if expected_node is None else read_value(expected_node)
        actual = assemble(where, found)
        if not same(expected, actual):
            failures.append(f"'{name}': expected {_show(expected)}, got {_show(actual)}")
    return CaseResult(model, cid, not failures, failures)


def _keys(value: Any) -> Any:
    """Component names of a structured input as field names."""
    if isinstance(value, dict):
        return {ident(k): _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return value


def assemble(where: Result, found: dict[str, Any]) -> Any:
    """The DMN result of a decision from the Casewise decision's outputs and values."""
    if len(where.fields) == 1 and where.fields[0][0] is None:
        return to_feel(found.get(where.fields[0][1]))
    if where.listing:
        columns = [(label, found.get(key) or []) for label, key in where.fields]
        rows = max((len(items) for _, items in columns), default=0)
        return [
            {label: to_feel(items[i]) if i < len(items) else None for label, items in columns}
            for i in range(rows)
        ]
    values = {label: to_feel(found.get(key)) for label, key in where.fields}
    return None if all(v is None for v in values.values()) else values


def read_value(elem: ET.Element) -> Any:
    """A TCK value: <value xsi:type=...>, <component name=...>s, or a <list> of <item>s."""
    value = elem.find(f"{{{TEST_NS}}}value")
    if value is not None:
        return _scalar(value)
    components = elem.findall(f"{{{TEST_NS}}}component")
    if components:
        return {c.get("name", ""): read_value(c) for c in components}
    items = elem.find(f"{{{TEST_NS}}}list")
    if items is not None:
        return [read_value(i) for i in items.findall(f"{{{TEST_NS}}}item")]
    return None


def _scalar(value: ET.Element) -> Any:
    if value.get(f"{XSI}nil") == "true":
        return None
    text = value.text or ""
    kind = (value.get(f"{XSI}type") or "xsd:string").partition(":")[2]
    if kind in ("decimal", "integer", "int", "long", "double", "float"):
        try:
            return Decimal(text.strip())
        except InvalidOperation:
            return None
    if kind == "boolean":
        return text.strip() == "true"
    if kind == "date":
        return dt.date.fromisoformat(text.strip())
    return text


def same(expected: Any, actual: Any) -> bool:
    """Whether a result matches the TCK's expected value: decimals closer than 10**-8,
    strings and booleans equal, lists in order, contexts component by component."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, Decimal):
        if isinstance(actual, bool) or not isinstance(actual, Decimal):
            return False
        return abs(expected - actual) < NUMBER_PRECISION
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(expected)
            and all(same(expected[k], actual[k]) for k in expected)
        )
    return type(expected) is type(actual) and bool(expected == actual)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def report(results: list[ModelResult]) -> dict[str, Any]:
    """The JSON report: each model's cases and failures, and the totals."""
    models = [
        {
            "model": r.model,
            "cases": len(r.cases),
            "passed": r.passed,
            "failed": r.failed,
            "error": r.error,
            "failures": [{"case": c.case, "why": c.failures} for c in r.cases if not c.passed],
        }
        for r in results
    ]
    cases = sum(len(r.cases) for r in results)
    passed = sum(r.passed for r in results)
    return {
        "models": models,
        "totals": {
            "models": len(results),
            "models_passed": sum(1 for r in results if r.cases and r.failed == 0),
            "cases": cases,
            "passed": passed,
            "failed": cases - passed,
        },
    }
