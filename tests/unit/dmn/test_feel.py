"""FEEL as DMN 1.5 defines it: decimals, null, three-valued logic, unary tests, names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine.feel.evaluate import (
    FeelError,
    Function,
    Scope,
    compile_expression,
    compile_tests,
    to_casewise,
)
from service.engine.feel.parser import FeelSyntaxError, parse_expression, parse_unary_tests
from service.engine.feel.printer import render, render_tests


def scope(**types: str) -> Scope:
    return Scope(names={name.replace("_", " "): (name, t) for name, t in types.items()})


def value(text: str, env: dict[str, Any] | None = None, names: Scope | None = None) -> Any:
    return compile_expression(parse_expression(text), names or Scope()).fn(env or {})


def passes(tests: str, given_value: Any, env: dict[str, Any] | None = None) -> Any:
    test = compile_tests(parse_unary_tests(tests), Scope())
    return test(given_value, env or {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1 + 0.2", Decimal("0.3")),  # decimal, not binary floating point
        ("10 / 4", Decimal("2.5")),
        ("1 / 3", Decimal("0.3333333333333333333333333333333333")),  # 34 digits
        ("10 ** -5", Decimal("0.00001")),
        ("5 + 2 ** 5 + 3", Decimal(40)),
        ("-10 - -5", Decimal(-5)),
        (".872", Decimal("0.872")),
        ('"Hello " + "World"', "Hello World"),
        ('if 1 < 2 then "yes" else "no"', "yes"),
        ("decimal(1 / 3, 2)", Decimal("0.33")),
        ("floor(-1.5)", Decimal(-2)),
        ('string length("abc")', Decimal(3)),
        ('upper case("abc")', "ABC"),
        ("5 between 1 and 5", True),
        ("3 in [1..2]", False),
        ("sum([1, 2, 3])", Decimal(6)),
    ],
)
def test_values(text: str, expected: Any) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(
    "text",
    ["10 + null", "null * 2", "10 / 0", '1 + "a"', "-null", "null < 3", '"a" < 1', 'abs("x")'],
)
def test_null_propagates(text: str) -> None:
    assert value(text) is None


@pytest.mark.parametrize(
    ("a", "b", "conj", "disj"),
    [
        (True, True, True, True),
        (True, False, False, True),
        (False, None, False, None),
        (True, None, None, True),
        (None, None, None, None),
        (False, False, False, False),
        (None, "x", None, None),  # a non-boolean operand counts as null
    ],
)
def test_and_or_are_three_valued(a: Any, b: Any, conj: Any, disj: Any) -> None:
    names = scope(A="boolean", B="boolean")
    env = {"A": a, "B": b}
    assert value("A and B", env, names) is conj
    assert value("B and A", env, names) is conj
    assert value("A or B", env, names) is disj
    assert value("not(A)", env, names) is (None if not isinstance(a, bool) else not a)


def test_null_equals_only_null() -> None:
    assert value("null = null") is True
    assert value("1 = null") is False
    assert value("1 != null") is True


def test_names_with_spaces_and_paths() -> None:
    names = scope(Monthly_Salary="number", Loan="object")
    env = {"Monthly_Salary": 10000, "Loan": {"amount": 600000, "rate": 0.0375}}
    assert value("12 * Monthly Salary", env, names) == Decimal(120000)
    assert value("Loan.rate * 2", env, names) == Decimal("0.0750")  # 0.0375 read as written
    assert value("Loan.missing", env, names) is None


def test_knowledge_models_are_called_with_their_parameters() -> None:
    params = Scope(names={"p": ("p", "number"), "n": ("n", "number")})
    body = compile_expression(parse_expression("p * n"), params).fn
    names = Scope(functions={"Twice": Function("Twice", ("p", "n"), body)})
    assert value("Twice(21, 2) + 1", names=names) == Decimal(43)
    with pytest.raises(FeelError, match=r"Twice\(\) takes 2 argument\(s\) \(p, n\), got 1"):
        value("Twice(1)", names=names)


@pytest.mark.parametrize(
    ("tests", "given_value", "expected"),
    [
        ("-", None, True),
        ("-", Decimal(5), True),
        (">= 18", Decimal(18), True),
        ("< 18", Decimal(18), False),
        ("< 18", None, None),  # a comparison with null is null: the row does not match
        ("[1..5]", Decimal(5), True),
        ("(1..5]", Decimal(1), False),
        ("]1..5[", Decimal(3), True),
        ('"Medium","Low"', "Low", True),
        ('"Medium","Low"', "High", False),
        ('not("Medium","Low")', "High", True),
        ('not("Medium","Low")', "Low", False),
        ("null", None, True),
        ("true", True, True),
        ("? > 3 and ? < 9", Decimal(5), True),
        ("-5", Decimal(-5), True),
    ],
)
def test_unary_tests(tests: str, given_value: Any, expected: Any) -> None:
    assert passes(tests, given_value) is expected


def test_unknown_names_are_refused_with_a_suggestion() -> None:
    with pytest.raises(
        FeelError, match="unknown name 'Monthly Salry'; did you mean 'Monthly Salary'"
    ):
        value("Monthly Salry * 12", names=scope(Monthly_Salary="number"))
    with pytest.raises(FeelError, match=r"unknown function flor\(\); did you mean floor\(\)"):
        value("flor(1.5)")


@pytest.mark.parametrize(
    ("text", "column"),
    [("1 +* 2", 4), ("(1 + 2", 6), ('"open', 1)],
)
def test_syntax_errors_name_the_column(text: str, column: int) -> None:
    with pytest.raises(FeelSyntaxError) as info:
        parse_expression(text)
    assert info.value.column == column or "ends too early" in str(info.value)


def test_constructs_beyond_s_feel_are_refused_by_name() -> None:
    with pytest.raises(FeelSyntaxError, match="'for'"):
        parse_expression("for x in [1, 2] return x * 2")
    with pytest.raises(FeelSyntaxError, match="'function'"):
        parse_expression("function(a) a + 1")


def test_decimals_leave_feel_as_int_or_float() -> None:
    assert to_casewise(Decimal("120000")) == 120000
    assert isinstance(to_casewise(Decimal("120000")), int)
    assert to_casewise(Decimal("0.00001")) == 1e-05
    assert to_casewise([Decimal("1.5"), None]) == [1.5, None]


@pytest.mark.parametrize(
    "text",
    ["(p*r/12)/(1-(1+r/12)**-n)", "-10--5", "a - (b - c)", "not(a and b) or c", "x in (1, [2..3])"],
)
def test_printed_text_parses_back_to_the_same_tree(text: str) -> None:
    tree = parse_expression(text)
    assert parse_expression(render(tree)) == tree


def test_printed_tests_parse_back_to_the_same_tree() -> None:
    for text in ['not("a", "b")', "(1..5]", ">= 18", "-"]:
        tree = parse_unary_tests(text)
        assert parse_unary_tests(render_tests(tree)) == tree


_numbers = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False).map(str)
_leaf = st.one_of(_numbers, st.just("null"), st.just("x"))


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(_leaf)
    op = draw(st.sampled_from(["+", "-", "*", "/", "**", "<", "=", "and", "or"]))
    left, right = draw(_expressions(depth - 1)), draw(_expressions(depth - 1))
    return f"({left}) {op} ({right})"


@settings(max_examples=150, deadline=None)
@given(_expressions(), st.one_of(st.none(), st.integers(-50, 50), st.floats(-1e6, 1e6)))
def test_every_expression_that_parses_evaluates_without_crashing(text: str, x: Any) -> None:
    result = value(text, {"x": x}, scope(x="number"))
    assert result is None or isinstance(result, Decimal | bool)
    to_casewise(result)  # and leaves FEEL as a JSON value
