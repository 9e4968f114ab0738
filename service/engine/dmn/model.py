"""A DMN model read from its XML: item definitions, input data, decisions, knowledge models.

Only what Casewise can run is read; any other decision logic (contexts, invocations,
relations, lists, function definitions, another expression language) or a DMN import is
refused at ``FILE.dmn:line`` with the construct named, never guessed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..errors import RuleFileError
from .xmlsafe import XmlDoc

# DMN 1.2, 1.3, 1.4, 1.5 model namespaces
NAMESPACES = {
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
FEEL_LANGUAGES = ("", "FEEL", "http://www.omg.org/spec/FEEL/20140401")
UNSUPPORTED_LOGIC = {
    "context": "a boxed context",
    "invocation": "a boxed invocation",
    "relation": "a relation",
    "list": "a boxed list",
    "functionDefinition": "a function definition",
    "conditional": "a boxed conditional",
    "filter": "a boxed filter",
    "for": "a boxed iterator",
    "every": "a boxed quantifier",
    "some": "a boxed quantifier",
}
IGNORED = {
    "extensionElements",
    "description",
    "textAnnotation",
    "association",
    "knowledgeSource",
    "group",
    "DMNDI",
    "decisionService",
    "elementCollection",
    "performanceIndicator",
    "organizationUnit",
}


@dataclass
class ItemType:
    """A DMN type: a base type name, components (a structure), allowed values, a collection."""

    base: str | None = None
    components: dict[str, ItemType] = field(default_factory=dict)
    allowed: str | None = None  # the FEEL unary tests of allowedValues
    collection: bool = False
    line: int = 1


@dataclass
class Column:
    expression: str
    type_ref: str | None
    line: int


@dataclass
class OutputColumn:
    name: str | None
    type_ref: str | None
    values: str | None  # outputValues: FEEL unary tests listing the values, in priority order
    default: str | None
    line: int


@dataclass
class Table:
    hit: str
    aggregation: str | None
    inputs: list[Column]
    outputs: list[OutputColumn]
    rules: list[tuple[list[str], list[str], int]]  # input entries, output entries, line
    line: int


@dataclass
class Decision:
    name: str
    type_ref: str | None
    requires: list[str]  # ids of required decisions and inputs, then knowledge models
    literal: str | None
    table: Table | None
    line: int
    id: str = ""


@dataclass
class Knowledge:
    name: str
    parameters: list[str]
    body: str
    line: int
    id: str = ""


@dataclass
class InputData:
    name: str
    type_ref: str | None
    line: int
    id: str = ""


@dataclass
class Model:
    name: str
    version: str  # DMN version of the namespace
    items: dict[str, ItemType]
    inputs: list[InputData]
    decisions: list[Decision]
    knowledge: list[Knowledge]
    ids: dict[str, str] = field(default_factory=dict)  # element id -> name
    description: str = ""


def read_model(doc: XmlDoc) -> Model:
    """The DMN model in ``doc``; raises RuleFileError for what Casewise cannot run."""
    root = doc.root
    ns, local = _split(root.tag)
    if ns not in NAMESPACES:
        known = ", ".join(f"{v}: {k}" for k, v in NAMESPACES.items())
        raise doc.problem(
            root,
            f"unknown namespace {ns or '(none)'!r} on <{local}>; a DMN model is "
            f"<definitions> in the namespace of DMN 1.2 to 1.5 ({known})",
        )
    if local != "definitions":
        raise doc.problem(root, f"a DMN model starts with <definitions>, not <{local}>")
    reader = _Reader(doc, ns)
    model = Model(
        name=root.get("name") or doc.path.stem,
        version=NAMESPACES[ns],
        items={},
        inputs=[],
        decisions=[],
        knowledge=[],
        description=_text_of(reader.child(root, "description")),
    )
    for elem in root:
        kind = _split(elem.tag)[1]
        if not _split(elem.tag)[0] == ns:
            continue  # DMNDI, vendor extensions: pictures and notes
        if kind == "itemDefinition":
            model.items[elem.get("name", "")] = reader.item(elem)
        elif kind == "inputData":
            model.inputs.append(reader.input_data(elem))
        elif kind == "decision":
            model.decisions.append(reader.decision(elem))
        elif kind == "businessKnowledgeModel":
            model.knowledge.append(reader.knowledge(elem))
        elif kind == "import":
            raise doc.problem(
                elem, "DMN <import> of another model is not supported: put the model in one file"
            )
        elif kind not in IGNORED:
            raise doc.problem(elem, f"<{kind}> is not a DMN element Casewise reads")
    for data in model.inputs:
        model.ids[data.id] = data.name
    for decision in model.decisions:
        model.ids[decision.id] = decision.name
    for bkm in model.knowledge:
        model.ids[bkm.id] = bkm.name
    return model


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


class _Reader:
    def __init__(self, doc: XmlDoc, ns: str) -> None:
        self.doc, self.ns = doc, ns

    def child(self, elem: ET.Element, name: str) -> ET.Element | None:
        return elem.find(f"{{{self.ns}}}{name}")

    def children(self, elem: ET.Element, name: str) -> list[ET.Element]:
        return elem.findall(f"{{{self.ns}}}{name}")

    def text(self, elem: ET.Element | None, name: str = "text") -> str | None:
        if elem is None:
            return None
        node = self.child(elem, name)
        return None if node is None or node.text is None else node.text.strip()

    def fail(self, elem: ET.Element, message: str) -> RuleFileError:
        return self.doc.problem(elem, message)

    def name(self, elem: ET.Element) -> str:
        name = elem.get("name")
        if not name:
            raise self.fail(elem, f"<{_split(elem.tag)[1]}> has no name")
        return name

    def item(self, elem: ET.Element) -> ItemType:
        item = ItemType(
            base=_type_name(self.text(elem, "typeRef")),
            allowed=self.text(self.child(elem, "allowedValues")),
            collection=elem.get("isCollection") == "true",
            line=self.doc.line(elem),
        )
        for comp in self.children(elem, "itemComponent"):
            item.components[self.name(comp)] = self.item(comp)
        if self.child(elem, "functionItem") is not None:
            raise self.fail(elem, "a function type (<functionItem>) is not supported")
        return item

    def variable_type(self, elem: ET.Element) -> str | None:
        var = self.child(elem, "variable")
        return _type_name(var.get("typeRef")) if var is not None else None

    def input_data(self, elem: ET.Element) -> InputData:
        return InputData(
            self.name(elem), self.variable_type(elem), self.doc.line(elem), elem.get("id", "")
        )

    def requirements(self, elem: ET.Element) -> list[str]:
        out = []
        for req in (
            *self.children(elem, "informationRequirement"),
            *self.children(elem, "knowledgeRequirement"),
        ):
            for ref in req:
                href = ref.get("href", "")
                out.append(href.partition("#")[2] or href)
        return out

    def language(self, elem: ET.Element) -> None:
        lang = elem.get("expressionLanguage", "")
        if lang and not any(x in lang for x in ("FEEL", "/FEEL/")):
            raise self.fail(elem, f"expression language {lang!r} is not FEEL; Casewise reads FEEL")

    def logic(self, elem: ET.Element, owner: str) -> tuple[str | None, Table | None]:
        """The decision logic of a decision or knowledge model: literal text or a table."""
        for child in elem:
            ns, kind = _split(child.tag)
            if ns != self.ns or kind in (
                "variable",
                "informationRequirement",
                "knowledgeRequirement",
                "authorityRequirement",
                "formalParameter",
                "description",
                "extensionElements",
                "question",
                "allowedAnswers",
                "supportedObjective",
                "impactedPerformanceIndicator",
                "decisionMaker",
                "decisionOwner",
                "usingProcess",
                "usingTask",
            ):
                continue
            if kind == "literalExpression":
                self.language(child)
                text = self.text(child)
                if text is None:
                    raise self.fail(child, f"{owner}: the literal expression has no <text>")
                return text, None
            if kind == "decisionTable":
                return None, self.table(child, owner)
            what = UNSUPPORTED_LOGIC.get(kind, f"<{kind}>")
            raise self.fail(
                child,
                f"{owner}: {what} is not supported; Casewise reads decision tables and "
                "literal expressions",
            )
        raise self.fail(
            elem, f"{owner} has no decision logic (a decision table or a literal expression)"
        )

    def decision(self, elem: ET.Element) -> Decision:
        name = self.name(elem)
        literal, table = self.logic(elem, f"decision '{name}'")
        return Decision(
            name=name,
            type_ref=self.variable_type(elem),
            requires=self.requirements(elem),
            literal=literal,
            table=table,
            line=self.doc.line(elem),
            id=elem.get("id", ""),
        )

    def knowledge(self, elem: ET.Element) -> Knowledge:
        name = self.name(elem)
        logic = self.child(elem, "encapsulatedLogic")
        if logic is None:
            raise self.fail(elem, f"knowledge model '{name}' has no <encapsulatedLogic>")
        self.language(logic)
        params = [self.name(p) for p in self.children(logic, "formalParameter")]
        literal, table = self.logic(logic, f"knowledge model '{name}'")
        if literal is None:
            raise self.fail(
                logic,
                f"knowledge model '{name}': a decision table as a function body is not "
                "supported; use a literal expression",
            )
        return Knowledge(name, params, literal, self.doc.line(elem), elem.get("id", ""))

    def table(self, elem: ET.Element, owner: str) -> Table:
        hit = elem.get("hitPolicy", "UNIQUE")
        inputs = []
        for col in self.children(elem, "input"):
            expr = self.child(col, "inputExpression")
            text = self.text(expr)
            if expr is None or text is None:
                raise self.fail(col, f"{owner}: a table input has no <inputExpression><text>")
            self.language(expr)
            inputs.append(Column(text, _type_name(expr.get("typeRef")), self.doc.line(col)))
        outputs = [
            OutputColumn(
                name=col.get("name"),
                type_ref=_type_name(col.get("typeRef")),
                values=self.text(self.child(col, "outputValues")),
                default=self.text(self.child(col, "defaultOutputEntry")),
                line=self.doc.line(col),
            )
            for col in self.children(elem, "output")
        ]
        if not outputs:
            raise self.fail(elem, f"{owner}: the decision table has no <output>")
        rules = []
        for rule in self.children(elem, "rule"):
            ins = [self._entry(e, owner) for e in self.children(rule, "inputEntry")]
            outs = [self._entry(e, owner) for e in self.children(rule, "outputEntry")]
            if len(ins) != len(inputs) or len(outs) != len(outputs):
                raise self.fail(
                    rule,
                    f"{owner}: a rule has {len(ins)} input and {len(outs)} output entries; "
                    f"the table has {len(inputs)} inputs and {len(outputs)} outputs",
                )
            rules.append((ins, outs, self.doc.line(rule)))
        return Table(hit, elem.get("aggregation"), inputs, outputs, rules, self.doc.line(elem))

    def _entry(self, elem: ET.Element, owner: str) -> str:
        self.language(elem)
        text = self.text(elem)
        return "-" if text is None or text == "" else text


def _text_of(elem: ET.Element | None) -> str:
    return "" if elem is None or elem.text is None else elem.text.strip()


def _type_name(name: str | None) -> str | None:
    if not name:
        return None
    return name.removeprefix("feel:")
