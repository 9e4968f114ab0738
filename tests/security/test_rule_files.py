"""Hostile rule files (issue 10, items 2, 5, 7, 9, 11): refused at file:line:col, never a hang.

Each reproducer is replayed at the loader (the refusal names the place and the limit, and
comes quickly) and, for the engine hang, against a real ``casewise serve`` that watches its
rules folder: the bad file is refused, the last good version keeps serving, /healthz answers
within a second throughout, and a restart with the bad file present serves the other rules.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import durable_rules_engine as dre
import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.engine import InputError, Registry, RuleFileError, durable_guard, limits, load_ruleset
from service.engine.loader import use_engine
from service.settings import Settings
from tests.hostile import assert_still_answering
from tests.serving import casewise_serve, served_env

ROOT = Path(__file__).resolve().parents[2]

HEAD = """ruleset: {name}
description: a hostile rule file
input:
  amount: {{type: number}}
  name: {{type: string}}
output:
  route: {{type: string, default: none}}
"""


def ruleset(name: str, rules: str) -> str:
    return HEAD.format(name=name) + "rules:\n" + rules


def one_rule(name: str, when: str) -> str:
    return ruleset(name, f"  - id: r\n    when: {when}\n    then: {{set: {{route: hit}}}}\n")


def alternatives(n: int) -> str:
    return '"' + " or ".join(f"amount == {i}" for i in range(n)) + '"'


Load = Callable[[str, str], RuleFileError]


@pytest.fixture(autouse=True)
def durable_engine() -> Iterator[None]:
    """The limits here are durable_rules' own: these files run on the durable engine (the
    compiled engine has none of them; see test_compiled_engine_takes_what_durable_cannot)."""
    use_engine("durable")
    yield
    use_engine("compiled")


@pytest.fixture
def refused(tmp_path: Path) -> Load:
    """Write ``text`` as NAME.yaml and give the RuleFileError that loading it raises, quickly."""

    def load(name: str, text: str) -> RuleFileError:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        started = time.monotonic()
        with pytest.raises(RuleFileError) as caught:
            load_ruleset(path)
        assert time.monotonic() - started < 5, "the refusal took too long"
        return caught.value

    return load


def only_problem(error: RuleFileError) -> tuple[int, int, str]:
    assert len(error.problems) == 1, error.problems
    p = error.problems[0]
    return p.line, p.col, p.message


# ------------------------------------------------------------------ item 2: engine hangs


@pytest.mark.parametrize(
    "when",
    [
        alternatives(600),
        '"amount in [' + ", ".join(str(i) for i in range(600)) + ']"',
        "'name in [" + ", ".join(f'"v{i}"' for i in range(600)) + "]'",
    ],
    ids=["600-or", "600-in-list", "600-strings"],
)
def test_600_alternatives_are_refused_at_the_condition(refused: Load, when: str) -> None:
    line, col, message = only_problem(refused("wide", one_rule("wide", when)))
    assert (line, col) == (10, 11)  # the value of `when:`
    assert "600 different comparisons" in message
    assert "at most 511" in message and "ranges" in message


def test_600_rules_are_refused_at_the_rule_that_crosses_the_bound(refused: Load) -> None:
    rules = "".join(
        f"  - id: r{i}\n    when: amount == {i}\n    then: {{set: {{route: hit}}}}\n"
        for i in range(600)
    )
    line, col, message = only_problem(refused("many", ruleset("many", rules)))
    assert (line, col) == (10 + 3 * 511, 11)  # rule r511's `when`
    assert message.startswith("rule 'r511': with this condition, 512 different comparisons")


def test_511_alternatives_still_load_and_decide(tmp_path: Path, refused: Load) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(one_rule("edge", alternatives(511)))
    rs = load_ruleset(path)
    assert rs.evaluate({"amount": 510}).outputs["route"] == "hit"
    assert rs.evaluate({"amount": 511}).outputs["route"] == "none"
    # 512 build, but then every decision that reaches them searches for ever
    assert "at most 511" in only_problem(refused("over", one_rule("over", alternatives(512))))[2]


def test_the_bound_is_durable_rules_own() -> None:
    """511 followers are safe; 513 hang the build (probed in a child process, never here)."""
    at_bound = _definition(durable_guard.MAX_FOLLOWING)
    dre.delete_ruleset(dre.create_ruleset("bound", orjson.dumps(at_bound).decode()))
    over = _definition(durable_guard.MAX_FOLLOWING + 2)
    assert durable_guard.check(over)[0] is not None
    why = durable_guard.probe(over, 2)
    assert why is not None and "did not build this ruleset within 2 s" in why


def _definition(n: int) -> dict[str, object]:
    cond = {"$and": [{"$t": "in"}, {"$or": [{"d.amount": i} for i in range(n)]}]}
    return {"r0": {"all": [{"m": cond}], "pri": 1}}


def test_fourteen_and_groups_load_instead_of_engine_error_113(tmp_path: Path) -> None:
    when = '"' + " or ".join(f"(amount == {i} and name == 'x{i}')" for i in range(14)) + '"'
    path = tmp_path / "groups.yaml"
    path.write_text(one_rule("groups", when))
    rs = load_ruleset(path)  # before: "Could not create ruleset, error code: 113"
    assert rs.evaluate({"amount": 13, "name": "x13"}).outputs["route"] == "hit"
    assert rs.evaluate({"amount": 13, "name": "x12"}).outputs["route"] == "none"


def test_a_file_that_does_not_compile_in_time_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(one_rule("slow", "amount > 1"))
    before = limits.current()
    limits.configure(compile_timeout_s=0.000001)
    try:
        with pytest.raises(RuleFileError) as caught:
            load_ruleset(path)
    finally:
        limits.configure(compile_timeout_s=before.compile_timeout_s)
    assert "did not compile within" in str(caught.value)
    assert "CASEWISE_COMPILE_TIMEOUT_S" in str(caught.value)


# ------------------------------------------------------------------ item 5: ReDoS


def test_a_catastrophic_pattern_decides_at_once(tmp_path: Path) -> None:
    path = tmp_path / "redos.yaml"
    path.write_text(one_rule("redos", """'name.matches("^(a+)+$")'"""))
    rs = load_ruleset(path)
    started = time.monotonic()
    assert rs.evaluate({"name": "a" * 30 + "!"}).outputs["route"] == "none"  # was 57 s
    assert rs.evaluate({"name": "a" * 100_000 + "!"}).outputs["route"] == "none"
    assert rs.evaluate({"name": "aaaa"}).outputs["route"] == "hit"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("pattern", "words"),
    [(r"(a)\\1", "backreferences"), ("a(?=b)", "lookahead"), ("(?<!a)b", "lookbehind")],
)
def test_a_pattern_re2_cannot_run_is_refused_naming_the_construct(
    refused: Load, pattern: str, words: str
) -> None:
    line, col, message = only_problem(
        refused("re", one_rule("re", f"""'name.matches("{pattern}")'"""))
    )
    assert (line, col) == (10, 25)
    assert words in message and "RE2" in message


def test_a_schema_pattern_runs_in_re2_too(refused: Load, tmp_path: Path) -> None:
    text = HEAD.format(name="pat").replace(
        "name: {type: string}", 'name: {type: string, pattern: "^(a|aa)+$"}'
    )
    path = tmp_path / "pat.yaml"
    path.write_text(text + "rules: []\n")
    rs = load_ruleset(path)
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        rs.evaluate({"name": "a" * 5000 + "!"})
    assert "must match the pattern" in str(caught.value.details)
    assert time.monotonic() - started < 1
    bad = text.replace("^(a|aa)+$", "(?=a)a")
    line, col, message = only_problem(refused("pat", bad + "rules: []\n"))
    assert line == 5 and "lookahead" in message


# ------------------------------------------------------------------ item 7: YAML aliases


def test_a_billion_laughs_is_refused_at_the_first_alias(refused: Load) -> None:
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 9):
        prev, cur = chr(ord("a") + n - 1), chr(ord("a") + n)
        laughs.append(f"{cur}: &{cur} [{', '.join(f'*{prev}' for _ in range(9))}]")
    text = "description:\n" + "".join(f"  {line}\n" for line in laughs)
    text = ruleset("laughs", "").replace("description: a hostile rule file\n", text)
    line, col, message = only_problem(refused("laughs", text))
    assert (line, col) == (4, 10)  # the first *a
    assert "YAML aliases (*a) are not part of the rule language" in message


def test_deeply_nested_yaml_is_refused(refused: Load) -> None:
    text = one_rule("deep", "amount > 1") + "limits: " + "[" * 5000 + "]" * 5000 + "\n"
    line, _col, message = only_problem(refused("deep", text))
    assert "nested more than 64 levels" in message


# ------------------------------------------------------------------ item 9: deep expressions


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ('"' + " + ".join(["amount"] * 2000) + ' > 0"', "more than 100 operators"),
        ('"' + "not " * 1000 + 'amount > 0"', "more than 100 operators"),
        ('"' + "-" * 1000 + 'amount > 0"', "more than 100 operators"),
        ('"' + "(" * 40 + "amount" + ")" * 40 + ' > 0"', "nested more than 32 deep"),
        (alternatives(2000), "at most 20,000"),
    ],
    ids=["2000-term-sum", "1000-not", "1000-minus", "40-brackets", "2000-or"],
)
def test_deep_or_wide_expressions_are_refused_before_parsing(
    refused: Load, when: str, words: str
) -> None:
    line, col, message = only_problem(refused("deep", one_rule("deep", when)))
    assert line == 10 and col >= 11
    assert words in message


def test_a_long_list_of_negative_values_is_not_taken_for_nesting(tmp_path: Path) -> None:
    path = tmp_path / "neg.yaml"
    path.write_text(one_rule("neg", '"amount in [' + ", ".join(f"-{i}" for i in range(300)) + ']"'))
    assert load_ruleset(path).evaluate({"amount": -299}).outputs["route"] == "hit"


def test_reload_of_a_deep_expression_answers_200_and_status_shows_it(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "good.yaml").write_text(one_rule("good", "amount > 1"))
    settings = Settings(rules_dir=rules, knowledge_dir=ROOT / "knowledge", auth="off",
                        watch="off", decision_log="off")  # fmt: skip
    with TestClient(create_app(settings)) as client:
        (rules / "good.yaml").write_text(one_rule("good", '"' + "not " * 1000 + 'amount > 0"'))
        answer = client.post("/v1/rulesets/reload")
        assert answer.status_code == 200, answer.text
        assert answer.json()["refused"] == 1
        status = client.get("/v1/rulesets/good/status").json()
        assert status["state"] == "refused" and status["serving"] is True
        assert "more than 100 operators" in status["errors"][0]["message"]
        assert client.post("/v1/decisions/good", json={"amount": 5}).json()["outputs"] == {
            "route": "hit"
        }


# ------------------------------------------------------------------ item 11: big files


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    big = rules / "big.yaml"
    big.write_text(one_rule("big", "amount > 1") + "# " + "x" * (20 * 1024 * 1024) + "\n")
    registry = Registry()
    report = registry.reload(rules)
    [outcome] = report.outcomes
    assert outcome.change == "refused"
    [problem] = outcome.errors
    assert (problem.line, problem.col) == (1, 1)
    assert "at most 2,097,152 (CASEWISE_MAX_RULE_FILE_BYTES)" in problem.message
    with pytest.raises(RuleFileError, match="CASEWISE_MAX_RULE_FILE_BYTES"):
        load_ruleset(big)


def test_the_bench_1000_rule_file_is_well_inside_the_limits(tmp_path: Path) -> None:
    from bench.generate import ruleset_yaml

    text = ruleset_yaml(count=1000, name="big-1000")
    assert len(text.encode()) * 10 < limits.current().max_file_bytes
    path = tmp_path / "big-1000.yaml"
    path.write_text(text)
    assert len(load_ruleset(path).rules) == 1000


# ------------------------------------------------------------------ end to end


def _status(url: str, name: str) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(f"{url}/v1/rulesets/{name}/status", timeout=1).json()
    return answer


def _wait(check: Callable[[], bool], url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert_still_answering(url)
        assert time.monotonic() < deadline, "condition not met in time"


@pytest.mark.integration
def test_a_served_folder_refuses_600_conditions_and_keeps_answering(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "other.yaml").write_text(one_rule("other", "amount > 1"))
    (rules / "wide.yaml").write_text(one_rule("wide", "amount == 7"))
    (rules / "redos.yaml").write_text(one_rule("redos", """'name.matches("^(a+)+$")'"""))
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    env = served_env() | {
        "CASEWISE_AUTH": "off",
        "CASEWISE_WATCH": "on",
        "CASEWISE_WATCH_DEBOUNCE_MS": "50",
        "CASEWISE_DECISION_LOG": "off",
        "CASEWISE_KNOWLEDGE_DIR": str(tmp_path / "knowledge"),
        "CASEWISE_ENGINE": "durable",
    }
    with casewise_serve(["--rules", str(rules)], env, tmp_path / "serve.log") as url:
        good = _status(url, "wide")["version"]
        (rules / "wide.yaml").write_text(one_rule("wide", alternatives(600)))
        _wait(lambda: _status(url, "wide")["state"] == "refused", url)
        status = _status(url, "wide")
        assert status["version"] == good and status["serving"] is True
        errors = status["errors"]
        assert isinstance(errors, list) and len(errors) == 1
        error = errors[0]
        assert (error["line"], error["col"]) == (10, 11)
        assert "at most 511" in error["message"]
        decided = httpx.post(f"{url}/v1/decisions/wide", json={"amount": 7}, timeout=1)
        assert decided.json()["outputs"] == {"route": "hit"}  # the last good version
        assert_still_answering(url)
        started = time.monotonic()
        redos = httpx.post(f"{url}/v1/decisions/redos", json={"name": "a" * 1000 + "!"}, timeout=2)
        assert redos.status_code == 200 and redos.json()["outputs"] == {"route": "none"}
        assert time.monotonic() - started < 1
        assert_still_answering(url)
    # a restart with the bad file present starts, and serves the others
    with casewise_serve(["--rules", str(rules)], env, tmp_path / "again.log") as url:
        assert_still_answering(url)
        assert _status(url, "wide")["state"] == "refused"
        assert _status(url, "wide")["serving"] is False
        decided = httpx.post(f"{url}/v1/decisions/other", json={"amount": 5}, timeout=1)
        assert decided.json()["outputs"] == {"route": "hit"}


def test_600_table_rows_are_refused_at_the_row(refused: Load) -> None:
    rows = "".join(f"      - [{i}, {i}]\n" for i in range(600))
    text = (
        HEAD.format(name="rows").replace(
            "route: {type: string, default: none}", "n: {type: number}"
        )
        + "tables:\n  - id: t\n    hit: first\n    inputs: [amount]\n    outputs: [n]\n"
        + "    rows:\n"
        + rows
    )
    line, col, message = only_problem(refused("rows", text))
    assert (line, col) == (14 + 511, 9)  # row 512
    assert message.startswith("table 't', row 512: with this condition, 512 different")


def test_300_rules_with_one_condition_are_refused_not_an_engine_error(refused: Load) -> None:
    rules = "".join(
        f"  - id: r{i}\n    when: true\n    then: {{set: {{route: hit}}}}\n" for i in range(300)
    )
    line, _col, message = only_problem(refused("same", ruleset("same", rules)))
    assert line == 10 + 3 * 256  # rule r256
    assert "more than 256 rules or table rows have the same condition" in message


def test_what_the_shape_cannot_tell_is_built_in_a_child_first(
    refused: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    probed: list[int] = []
    real = durable_guard.probe

    def spy(definition: dict[str, object], seconds: float) -> str | None:
        probed.append(len(definition))
        return real(definition, seconds)

    monkeypatch.setattr(durable_guard, "probe", spy)
    rules = "".join(
        f"  - id: r{i}\n    when: (name == 'a' or name == 'b') and amount == {i}\n"
        "    then: {set: {route: hit}}\n"
        for i in range(520)
    )
    definition_error = refused("shared", ruleset("shared", rules))
    line, col, message = only_problem(definition_error)
    assert (line, col) == (1, 1)
    assert "at most 128 'or' branches" in message and "asserts a fact" in message
    assert probed == [520]


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("'[" + " " * 15_000 + "x'", "was never closed"),  # was minutes of backtracking
        ("'" + "not(" * 40 + "1" + ")" * 40 + "'", "nested more than 32 deep"),
        ("'" + "-" * 15_000 + "1'", "more than 100 operators"),  # was a MemoryError
    ],
    ids=["spaces-range", "nested-not", "deep-minus"],
)
def test_hostile_table_cells_are_refused_quickly(refused: Load, cell: str, words: str) -> None:
    text = (
        HEAD.format(name="cells").replace(
            "route: {type: string, default: none}", "n: {type: number}"
        )
        + "tables:\n  - id: t\n    hit: first\n    inputs: [amount]\n    outputs: [n]\n"
        + f"    rows:\n      - [{cell}, 1]\n"
    )
    line, col, message = only_problem(refused("cells", text))
    assert (line, col) == (14, 10)
    assert message.startswith("row 1, input 'amount'") and words in message


def test_compiled_engine_takes_what_durable_cannot(tmp_path: Path) -> None:
    """600 alternatives, 600 rules: beyond durable_rules, within the compiled engine."""
    use_engine("compiled")
    path = tmp_path / "wide.yaml"
    path.write_text(one_rule("wide", alternatives(600)))
    rs = load_ruleset(path)
    assert rs.evaluate({"amount": 599}).outputs["route"] == "hit"
    assert rs.evaluate({"amount": 600}).outputs["route"] == "none"
    rules = "".join(
        f"  - id: r{i}\n    when: amount == {i}\n    then: {{set: {{route: hit}}}}\n"
        for i in range(600)
    )
    many = tmp_path / "many.yaml"
    many.write_text(ruleset("many", rules))
    assert load_ruleset(many).evaluate({"amount": 599}).outputs["route"] == "hit"
