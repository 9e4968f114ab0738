"""Run the example tests beside rule files (`rules/<name>.test.yaml`; docs/rules.md, "Test files").

Each case gives an input and what to expect: outputs and intermediate values (only
the keys listed are compared), the exact fired rules in order, the exact set of
derived facts, or an error code instead of a decision. Every case is also decided by
the other engine (compiled and durable_rules check each other): any difference in
outputs, values, fired rules and the values they read, facts or error fails the case.
A rule file or test file that cannot be read is a *problem* (`file:line:col: message`),
never an exception: every problem and every failing case is reported at once, as
`casewise rules check` does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from . import DecisionError, InputError, Registry, RuleFileError, Ruleset, load_ruleset
from .livefiles import TEST_SUFFIX

FILE_KEYS = ("ruleset", "today", "cases")
CASE_KEYS = ("name", "input", "expect", "today")
EXPECT_KEYS = ("outputs", "values", "fired", "facts", "error")
_UNSET: Any = object()  # an output the decision did not return
_Report = Callable[[Any, Any, str], None]  # (ruamel node, key or index, message)


@dataclass
class CaseResult:
    """The outcome of one test case; `differences` is empty when it passed."""

    file: str
    line: int
    name: str
    ruleset: str
    differences: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)  # what the decision fired
    error: str | None = None  # the error code the decision raised, if any

    @property
    def passed(self) -> bool:
        return not self.differences


@dataclass
class SuiteResult:
    """Every case run and every problem found under one path."""

    cases: list[CaseResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for case in self.cases if case.passed)

    @property
    def failed(self) -> int:
        return len(self.cases) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.problems

    def report(self) -> str:
        """Problems, then each failing case with its differences, then `N passed, M failed`."""
        lines = list(self.problems)
        for case in self.cases:
            if not case.passed:
                lines.append(f"{case.file}:{case.line}: FAIL {case.name}")
                lines.extend(f"    {difference}" for difference in case.differences)
        summary = f"{self.passed} passed, {self.failed} failed"
        if self.problems:
            summary += f", {len(self.problems)} problem{'' if len(self.problems) == 1 else 's'}"
        return "\n".join([*lines, summary])


def example_inputs(rule_file: Path) -> list[dict[str, Any]]:
    """Give the inputs of the example tests beside ``rule_file`` as plain JSON values (dates as
    ISO text); none if it has no readable test file."""
    test_file = rule_file.with_name(rule_file.stem + TEST_SUFFIX)
    try:
        doc = YAML(typ="safe").load(test_file.read_text(encoding="utf-8"))
    except (OSError, MarkedYAMLError):
        return []
    cases = doc.get("cases") if isinstance(doc, dict) else None
    plain = json.loads(json.dumps(cases or [], default=str))
    return [c["input"] for c in plain if isinstance(c, dict) and isinstance(c.get("input"), dict)]


def run_suite(path: Path) -> SuiteResult:
    """Run every test file under `path`: a rules directory, a rule file or a test file."""
    result = SuiteResult()
    for ruleset, test_file in _pairs(path, result.problems):
        _run_file(ruleset, test_file, result)
    return result


def _pairs(path: Path, problems: list[str]) -> Iterator[tuple[Ruleset, Path]]:
    """Each loaded ruleset under `path` with its test file; what cannot run goes to problems."""
    if path.is_dir():
        registry = Registry()
        problems.extend(str(problem) for problem in registry.load_dir(path))
        for test_file in sorted(path.glob("*" + TEST_SUFFIX)):
            name = test_file.name[: -len(TEST_SUFFIX)]
            if name in registry.names():
                yield registry.get(name), test_file
            else:
                why = "has problems" if (path / f"{name}.yaml").exists() else "does not exist"
                problems.append(f"{test_file}:1:1: not run: {name}.yaml {why}")
        return
    if path.name.endswith(TEST_SUFFIX):
        test_file, rule_file = path, path.with_name(path.name[: -len(TEST_SUFFIX)] + ".yaml")
        if not rule_file.is_file() and rule_file.with_suffix(".dmn").is_file():
            rule_file = rule_file.with_suffix(".dmn")  # a DMN model in the rules folder
    else:
        rule_file, test_file = path, path.with_name(path.stem + TEST_SUFFIX)
    for wanted in (rule_file, test_file):
        if not wanted.is_file():
            problems.append(f"{wanted}:1:1: no such file")
            return
    try:
        ruleset = load_ruleset(rule_file)
    except RuleFileError as exc:
        problems.extend(str(problem) for problem in exc.problems)
        problems.append(f"{test_file}:1:1: not run: {rule_file.name} has problems")
        return
    yield ruleset, test_file


def _run_file(ruleset: Ruleset, test_file: Path, result: SuiteResult) -> None:
    """Check the test file's shape, then run each well-formed case."""

    def problem(node: Any, key: Any, message: str) -> None:
        line, col = _position(node, key)
        result.problems.append(f"{test_file}:{line}:{col}: {message}")

    try:
        doc = YAML(typ="rt").load(test_file.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        result.problems.append(f"{test_file}:{line}:{col}: YAML syntax error: {exc.problem}")
        return
    if not isinstance(doc, CommentedMap):
        return problem(CommentedMap(), None, f"a test file is a mapping of {', '.join(FILE_KEYS)}")
    for node, key, message in _unknown(doc, FILE_KEYS, "key", "a test file has"):
        problem(node, key, message)
    if doc.get("ruleset") != ruleset.name:
        problem(doc, "ruleset", f"ruleset must be {ruleset.name!r}, the rule file beside this one")
    file_today = _date(doc, "today", problem)
    cases = doc.get("cases")
    if not isinstance(cases, CommentedSeq) or not cases:
        problem(doc, "cases", "cases must be a list of cases, each with name, input and expect")
        return
    outputs = set(ruleset.describe()["output"])
    twin = other_engine(ruleset)
    for index, case in enumerate(cases):
        if _case_is_valid(case, (cases, index), outputs, problem, set(ruleset.values)):
            today = _date(case, "today", problem) or file_today
            line = _position(cases, index)[0]
            checked = _run_case(ruleset, case, today, str(test_file), line)
            if twin is not None:
                checked.differences.extend(
                    engine_differences(ruleset, twin, _plain(case["input"]), today)
                )
            result.cases.append(checked)


def other_engine(ruleset: Ruleset) -> Ruleset | None:
    """The same rule file on the other engine; None when that engine cannot take it."""
    other = "durable" if ruleset.engine == "compiled" else "compiled"
    try:
        return load_ruleset(ruleset.path, max_firings=ruleset.max_firings, engine=other)
    except (RuleFileError, OSError):
        return None  # e.g. intermediate values, which only the compiled engine runs


def engine_differences(
    one: Ruleset, two: Ruleset, data: dict[str, Any], today: dt.date | None
) -> list[str]:
    """How two engines' decisions on the same input differ: outputs, values, fired, facts."""
    day = today or dt.date.today()
    got = [_outcome(rs, data, day) for rs in (one, two)]
    if _show(got[0]) == _show(got[1]):  # as JSON, so 1 and 1.0 or true and 1 differ
        return []
    names = (one.engine, two.engine)
    out = []
    for key in ("error", "outputs", "values", "fired", "facts"):
        a, b = got[0].get(key), got[1].get(key)
        if _show(a) != _show(b):
            out.append(f"engines differ in {key}: {names[0]} {_show(a)}, {names[1]} {_show(b)}")
    return out


def _outcome(ruleset: Ruleset, data: dict[str, Any], today: dt.date) -> dict[str, Any]:
    try:
        decision = ruleset.evaluate(data, today=today)
    except InputError as exc:
        return {"error": "invalid-input", "outputs": exc.details}
    except DecisionError as exc:
        return {"error": exc.reason}
    return {
        "outputs": decision.outputs,
        "values": decision.values,
        "fired": [[f.rule, f.values] for f in decision.fired],
        "facts": decision.facts,
    }


def _case_is_valid(
    case: Any, where: tuple[Any, Any], outputs: set[str], problem: _Report, values: set[str]
) -> bool:
    """Report every shape mistake in one case; true when it can be run."""
    if not isinstance(case, CommentedMap):
        problem(*where, "a case is a mapping with name, input and expect")
        return False
    errors = _unknown(case, CASE_KEYS, "key", "a case has")
    if not isinstance(case.get("name"), str) or not case["name"].strip():
        errors.append((*where, "a case needs a name that says what it shows"))
    if not isinstance(case.get("input"), CommentedMap):
        errors.append((case, "input", "input must be a mapping of input fields to values"))
    expect = case.get("expect")
    if not isinstance(expect, CommentedMap) or not any(k in expect for k in EXPECT_KEYS):
        errors.append((case, "expect", f"expect needs one or more of {', '.join(EXPECT_KEYS)}"))
        expect = CommentedMap()
    errors += _unknown(expect, EXPECT_KEYS, "key", "expect has")
    if "error" in expect and (len(expect) > 1 or not isinstance(expect["error"], str)):
        errors.append((expect, "error", "expect an error code alone, or outputs/fired/facts"))
    for key in ("fired", "facts"):
        names = expect.get(key, [])
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            errors.append((expect, key, f"{key} must be a list of names"))
    wanted = expect.get("outputs", CommentedMap())
    if not isinstance(wanted, CommentedMap):
        errors.append((expect, "outputs", "outputs must map output names to values"))
    else:
        errors += _unknown(wanted, sorted(outputs), "output", "the outputs are")
    wanted = expect.get("values", CommentedMap())
    if not isinstance(wanted, CommentedMap):
        errors.append((expect, "values", "values must map value names to values"))
    else:
        errors += _unknown(wanted, sorted(values), "value", "the values are")
    for node, key, message in errors:
        problem(node, key, message)
    return not errors


def _unknown(node: Any, allowed: Sequence[str], kind: str, what: str) -> list[tuple[Any, Any, str]]:
    """An error for each key of `node` that is not allowed, with the closest allowed one."""
    errors: list[tuple[Any, Any, str]] = []
    for key in node:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            errors.append(
                (node, key, f"unknown {kind} {key!r}; {hint}({what} {', '.join(allowed)})")
            )
    return errors


def _run_case(
    ruleset: Ruleset, case: CommentedMap, today: dt.date | None, file: str, line: int
) -> CaseResult:
    """Evaluate one case and list how the decision differs from what it expects."""
    result = CaseResult(file=file, line=line, name=str(case["name"]), ruleset=ruleset.name)
    expect, diff = case["expect"], result.differences
    try:
        decision = ruleset.evaluate(_plain(case["input"]), today=today)
    except InputError as exc:
        result.error = "invalid-input"
        message = "; ".join(str(detail.get("message", detail)) for detail in exc.details)
    except DecisionError as exc:
        result.error, message = exc.reason, exc.message
    except Exception as exc:  # an engine bug: fail this case, keep running the others
        diff.append(f"evaluate raised {type(exc).__name__}: {exc}")
        return result
    if result.error is not None:
        if expect.get("error") != result.error:
            wanted = f"error {expect['error']!r}" if "error" in expect else "a decision"
            diff.append(f"expected {wanted}, got error {result.error!r}: {message}")
        return result
    result.fired = [fired.rule for fired in decision.fired]
    if "error" in expect:
        diff.append(
            f"expected error {expect['error']!r}, got a decision: outputs "
            f"{_show(decision.outputs)}, fired [{', '.join(result.fired)}]"
        )
        return result
    for key, wanted in _plain(expect.get("outputs", {})).items():
        got = _plain(decision.outputs.get(key, _UNSET))
        if not _same(wanted, None if got is _UNSET else got):
            shown = "nothing (not set)" if got is _UNSET else _show(got)
            diff.append(f"outputs.{key}: expected {_show(wanted)}, got {shown}")
    for key, wanted in _plain(expect.get("values", {})).items():
        got = _plain(decision.values.get(key, _UNSET))
        if not _same(wanted, None if got is _UNSET else got):
            shown = "nothing (not decided)" if got is _UNSET else _show(got)
            diff.append(f"values.{key}: expected {_show(wanted)}, got {shown}")
    if "fired" in expect and list(expect["fired"]) != result.fired:
        diff.append(_list_diff("fired", list(expect["fired"]), result.fired))
    if "facts" in expect and set(expect["facts"]) != set(decision.facts):
        diff.append(_list_diff("facts", sorted(expect["facts"]), sorted(decision.facts)))
    return result


def _list_diff(label: str, wanted: list[str], got: list[str]) -> str:
    """`fired: expected [a, b], got [b, c]; missing a; unexpected c`."""
    missing = ", ".join(name for name in wanted if name not in got)
    extra = ", ".join(name for name in got if name not in wanted)
    return f"{label}: expected [{', '.join(wanted)}], got [{', '.join(got)}]" + (
        (f"; missing {missing}" if missing else "") + (f"; unexpected {extra}" if extra else "")
        or "; same names, different order or count"
    )


def _date(node: CommentedMap, key: str, problem: _Report) -> dt.date | None:
    """The date under `key` (a YAML date or an ISO string), reporting a bad one."""
    value = node.get(key)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = dt.date.fromisoformat(value)
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    problem(node, key, f"{key} must be a date such as 2026-03-02, not {value!r}")
    return None


def _position(node: Any, key: Any) -> tuple[int, int]:
    """1-based line and column of `key` in a ruamel mapping or sequence (or of the node)."""
    if isinstance(node, CommentedSeq):
        line, col = node.lc.item(key)
    elif key in node:
        line, col = node.lc.key(key)
    else:
        line, col = node.lc.line or 0, node.lc.col or 0
    return int(line) + 1, int(col) + 1


def _plain(value: Any) -> Any:
    """ruamel's values as plain JSON-like Python; dates become ISO text, as in a request."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool | ScalarBoolean):
        return bool(value)
    if isinstance(value, dt.date):  # a datetime is a date too
        return value.isoformat()
    return next((kind(value) for kind in (int, float, str) if isinstance(value, kind)), value)


def _same(wanted: Any, got: Any) -> bool:
    """Equal as JSON values: 48 equals 48.0, but true does not equal 1."""
    if isinstance(wanted, bool) or isinstance(got, bool):
        return isinstance(wanted, bool) and isinstance(got, bool) and wanted == got
    if isinstance(wanted, list) and isinstance(got, list):
        return len(wanted) == len(got) and all(map(_same, wanted, got))
    if isinstance(wanted, dict) and isinstance(got, dict):
        return wanted.keys() == got.keys() and all(_same(wanted[k], got[k]) for k in wanted)
    return bool(wanted == got)


def _show(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
