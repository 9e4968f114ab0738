"""The OpenAPI document of the decision route, one path per served ruleset.

``POST /v1/decisions/{ruleset}`` takes any ruleset's input, so its documented body is a generic
object. The document also has ``POST /v1/decisions/<name>`` for every ruleset served when it is
asked for, with that ruleset's input schema as JSON Schema, so clients and API testers see the
exact body (a concrete path is matched before the templated one). It follows reloads: the
paths are made again when the served versions change.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from service.engine import Registry, Ruleset
from service.engine.schema import FieldSpec, to_json

DECIDE = "/v1/decisions/{ruleset}"

_SIMPLE = {
    "number": {"type": "number"},
    "integer": {"type": "integer"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """Give the JSON Schema of one input field, as the engine checks it."""
    if spec.type == "list":
        schema: dict[str, Any] = {"type": "array"}
        if spec.items is not None:
            schema["items"] = field_schema(spec.items)
    elif spec.type == "object":
        schema = object_schema(spec.fields) if spec.fields else {"type": "object"}
    else:
        schema = dict(_SIMPLE[spec.type])
    if spec.description:
        schema["description"] = spec.description
    if spec.enum is not None:
        schema["enum"] = [to_json(v) for v in spec.enum]
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    if spec.pattern is not None:  # RE2 syntax: told, not given as an ECMA pattern
        told = f"matches {spec.pattern.pattern} in full"
        schema["description"] = f"{spec.description}; {told}" if spec.description else told
    if spec.has_default:
        schema["default"] = to_json(spec.default)
    return schema


def object_schema(fields: dict[str, FieldSpec]) -> dict[str, Any]:
    """Give the JSON Schema of an object of declared fields: unknown fields are refused, and
    an optional field may be null (the same as leaving it out)."""
    properties = {}
    for name, spec in fields.items():
        schema = field_schema(spec)
        properties[name] = schema if _needed(spec) else {"anyOf": [schema, {"type": "null"}]}
    out: dict[str, Any] = {"type": "object", "properties": properties}
    required = [name for name, spec in fields.items() if _needed(spec)]
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out


def _needed(spec: FieldSpec) -> bool:
    return spec.required and not spec.has_default


def with_rulesets(document: dict[str, Any], rulesets: list[Ruleset]) -> dict[str, Any]:
    """Give ``document`` with a decision path per ruleset, its body that ruleset's input."""
    generic = document.get("paths", {}).get(DECIDE, {}).get("post")
    if generic is None:
        return document
    paths = dict(document["paths"])
    for ruleset in rulesets:
        path = DECIDE.replace("{ruleset}", ruleset.name)
        if path in paths:
            continue
        operation = copy.deepcopy(generic)
        operation["operationId"] = f"decide_{ruleset.name.replace('-', '_')}"
        operation["summary"] = f"Decide one input of {ruleset.name}"
        operation["parameters"] = [
            p for p in operation.get("parameters", []) if p.get("name") != "ruleset"
        ]
        body = operation["requestBody"]["content"]["application/json"]
        body["schema"] = object_schema(ruleset.inputs)
        body.pop("example", None)
        operation["requestBody"]["description"] = (
            f"The input of {ruleset.name} (version {ruleset.version[:12]})."
        )
        paths[path] = {"post": operation}
    return {**document, "paths": paths}


def document_rulesets(app: FastAPI) -> None:
    """Make ``app.openapi`` add the served rulesets' decision paths to the document."""
    base: Callable[[], dict[str, Any]] = app.openapi
    lock = threading.Lock()
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        registry: Registry = app.state.registry
        served = sorted(registry, key=lambda r: r.name)
        versions = tuple((r.name, r.version) for r in served)
        with lock:
            if cache.get("versions") != versions:
                cache["document"] = with_rulesets(base(), served)
                cache["versions"] = versions
            document: dict[str, Any] = cache["document"]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
