"""Hostile DMN files (issue 13, item 5): refused with a clear error, and nothing else happens.

External entities, billion laughs, a 50 MB file, an unknown namespace, deep nesting and
malformed XML are each refused at FILE.dmn:line, quickly, by the importer, by the rules
folder (the last good version keeps serving) and by `casewise rules import-dmn` (nothing
is written).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.engine import Registry, RuleFileError, load_ruleset

runner = CliRunner()
NS = "https://www.omg.org/spec/DMN/20230324/MODEL/"

GOOD = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{NS}" id="d" name="greeting" namespace="urn:example">
  <decision id="d_g" name="Greeting">
    <variable name="Greeting" typeRef="string"/>
    <literalExpression><text>"Hello " + Name</text></literalExpression>
  </decision>
  <inputData id="i_n" name="Name"><variable name="Name" typeRef="string"/></inputData>
</definitions>
"""

XXE = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<definitions xmlns="{NS}" id="d" name="greeting" namespace="urn:example">
  <decision id="d_g" name="Greeting">
    <variable name="Greeting" typeRef="string"/>
    <literalExpression><text>"&secret;"</text></literalExpression>
  </decision>
</definitions>
"""

LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + f']>\n<definitions xmlns="{NS}" name="x" namespace="u">&lol9;</definitions>\n'
)

PARAMETER_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<definitions xmlns="{NS}" name="x" namespace="u"/>
"""

UNKNOWN_NS = GOOD.replace(NS, "http://example.com/not-dmn")
DMN_11 = GOOD.replace(NS, "http://www.omg.org/spec/DMN/20151101/dmn.xsd")
MALFORMED = GOOD.replace("</decision>", "</decisions>")
DEEP = (
    f'<definitions xmlns="{NS}" name="x" namespace="u">'
    + "<a>" * 5000
    + "</a>" * 5000
    + ("</definitions>")
)


def refusal(tmp_path: Path, text: str, name: str = "greeting.dmn") -> str:
    path = tmp_path / name
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(RuleFileError) as info:
        load_ruleset(path)
    assert time.monotonic() - started < 2.0
    (problem,) = info.value.problems
    assert Path(problem.path).name == name
    return f"{problem.line}: {problem.message}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (XXE, "2: the file declares a DTD"),
        (LAUGHS, "2: the file declares a DTD"),
        (PARAMETER_ENTITY, "2: the file declares a DTD"),
        (UNKNOWN_NS, "2: unknown namespace 'http://example.com/not-dmn' on <definitions>"),
        (DMN_11, "2: unknown namespace 'http://www.omg.org/spec/DMN/20151101/dmn.xsd'"),
        (MALFORMED, "6: the file is not well-formed XML: mismatched tag"),
        (DEEP, "1: the XML is nested more than 64 levels deep"),
    ],
    ids=[
        "external-entity",
        "billion-laughs",
        "parameter-entity",
        "unknown-namespace",
        "dmn-1.1",
        "malformed",
        "deep",
    ],
)
def test_hostile_xml_is_refused_at_its_line(tmp_path: Path, text: str, expected: str) -> None:
    assert refusal(tmp_path, text).startswith(expected)


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.dmn"
    with path.open("wb") as file:
        file.write(GOOD.encode())
        file.seek(50 * 1024 * 1024)
        file.write(b"<!-- end -->")
    started = time.monotonic()
    with pytest.raises(RuleFileError) as info:
        load_ruleset(path)
    assert time.monotonic() - started < 2.0
    (problem,) = info.value.problems
    message = f"{problem.line}: {problem.message}"
    assert message.startswith("1: the file has 52,428,8")
    assert "rule files may have at most 2,097,152 (CASEWISE_MAX_RULE_FILE_BYTES)" in message


def test_the_rules_folder_keeps_serving_the_last_good_model(tmp_path: Path) -> None:
    path = tmp_path / "greeting.dmn"
    path.write_text(GOOD)
    registry = Registry(settle=0)
    assert registry.load_dir(tmp_path) == []
    good = registry.get("greeting")
    for hostile in (XXE, LAUGHS, UNKNOWN_NS):
        path.write_text(hostile)
        registry.reload(tmp_path)
        assert registry.get("greeting").version == good.version
        assert len(registry.files.problems) == 1
    assert registry.get("greeting").evaluate({"Name": "Ada"}).outputs == {"Greeting": "Hello Ada"}


def test_import_dmn_writes_nothing_for_a_hostile_file(tmp_path: Path) -> None:
    source = tmp_path / "greeting.dmn"
    source.write_text(XXE)
    out = tmp_path / "rules"
    out.mkdir()
    result = runner.invoke(app, ["rules", "import-dmn", str(source), "--out", str(out)])
    assert result.exit_code == 1
    assert "greeting.dmn:2:1: the file declares a DTD" in result.output
    assert list(out.iterdir()) == []


def test_the_secret_never_reaches_a_decision(tmp_path: Path) -> None:
    # the refused file is never half-read: no entity text appears anywhere in the error
    message = refusal(tmp_path, XXE)
    assert "root:" not in message and "/etc/passwd" not in message
