"""Typed input and output schemas: reading them from a rule file and checking decision input."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .regex import Pattern, RegexError, compile_regex
from .source import Pos, Source, check_keys, key_pos, node_pos, value_pos

TYPES = ("number", "integer", "string", "boolean", "date", "datetime", "list", "object")
FIELD_KEYS = (
    "type",
    "description",
    "required",
    "default",
    "enum",
    "minimum",
    "maximum",
    "pattern",
    "fields",
    "items",
)
_MISSING: Any = object()


@dataclass(frozen=True)
class FieldSpec:
    """One field of an input or output schema."""

    name: str
    type: str
    required: bool = False
    default: Any = _MISSING
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: Pattern | None = None
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    items: FieldSpec | None = None
    description: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.description:
            out["description"] = self.description
        if self.required:
            out["required"] = True
        if self.has_default:
            out["default"] = to_json(self.default)
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.pattern is not None:
            out["pattern"] = self.pattern.pattern
        if self.fields:
            out["fields"] = {k: f.describe() for k, f in self.fields.items()}
        if self.items is not None:
            out["items"] = self.items.describe()
        return out


def to_json(value: Any) -> Any:
    """A JSON-able copy of a checked value (dates as ISO text)."""
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- reading a schema


def read_schema(src: Source, node: Any, where: str, pos: Pos) -> dict[str, FieldSpec]:
    """Read a mapping of field name -> field options, reporting each mistake."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        src.error(pos, f"'{where}' must be a mapping of field names to field options")
        return {}
    out: dict[str, FieldSpec] = {}
    for name, spec in node.items():
        fpos = value_pos(node, name, key_pos(node, name, pos))
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            src.error(
                key_pos(node, name, pos),
                f"field name '{name}' must be an identifier "
                "(letters, digits and _, not starting with a digit)",
            )
            continue
        parsed = _read_field(src, name, spec, f"{where}.{name}", fpos)
        if parsed is not None:
            out[name] = parsed
    return out


def _read_field(src: Source, name: str, spec: Any, where: str, pos: Pos) -> FieldSpec | None:
    if isinstance(spec, str):  # shorthand: `amount: number`
        spec = {"type": spec}
    if not isinstance(spec, dict):
        src.error(pos, f"field '{where}' must be a mapping such as {{type: number}}")
        return None
    pos = node_pos(spec, pos)
    check_keys(src, spec, FIELD_KEYS, f"field '{where}'", pos)
    ftype = spec.get("type")
    if ftype not in TYPES:
        src.error(
            value_pos(spec, "type", pos),
            f"field '{where}' has type {ftype!r}; use one of: {', '.join(TYPES)}",
        )
        return None
    fields: dict[str, FieldSpec] = {}
    items: FieldSpec | None = None
    if "fields" in spec:
        if ftype != "object":
            src.error(key_pos(spec, "fields", pos), f"'fields' is only for type object ('{where}')")
        fields = read_schema(src, spec["fields"], where, value_pos(spec, "fields", pos))
    if "items" in spec:
        if ftype != "list":
            src.error(key_pos(spec, "items", pos), f"'items' is only for type list ('{where}')")
        items = _read_field(src, "item", spec["items"], f"{where}[]", value_pos(spec, "items", pos))
    pattern = None
    if "pattern" in spec:
        try:
            pattern = compile_regex(str(spec["pattern"]))
        except RegexError as exc:
            src.error(value_pos(spec, "pattern", pos), f"bad pattern for '{where}': {exc}")
    nums: dict[str, float | None] = {"minimum": None, "maximum": None}
    for key in nums:
        if key in spec:
            if ftype not in ("number", "integer") or not _is_number(spec[key]):
                src.error(
                    value_pos(spec, key, pos),
                    f"'{key}' of '{where}' must be a number on a number or integer field",
                )
            else:
                nums[key] = float(spec[key])
    enum = None
    if "enum" in spec:
        if not isinstance(spec["enum"], list) or not spec["enum"]:
            src.error(value_pos(spec, "enum", pos), f"'enum' of '{where}' must be a non-empty list")
        else:
            enum = tuple(spec["enum"])
    required = spec.get("required", False)
    if not isinstance(required, bool):
        src.error(
            value_pos(spec, "required", pos), f"'required' of '{where}' must be true or false"
        )
        required = False
    result = FieldSpec(
        name=name,
        type=ftype,
        required=required,
        enum=enum,
        minimum=nums["minimum"],
        maximum=nums["maximum"],
        pattern=pattern,
        fields=fields,
        items=items,
        description=str(spec.get("description", "")),
    )
    if "default" in spec:
        errs: list[dict[str, Any]] = []
        value = check_value(result, spec["default"], where, errs)
        for err in errs:
            src.error(value_pos(spec, "default", pos), f"default of '{where}': {err['message']}")
        if not errs:
            result = FieldSpec(**{**result.__dict__, "default": value})
    return result


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------- checking input


def check_input(
    schema: dict[str, FieldSpec], data: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The input with types converted and defaults filled, and every problem found."""
    errors: list[dict[str, Any]] = []
    if not isinstance(data, dict):
        errors.append({"field": "", "message": "input must be a JSON object", "value": None})
        return {}, errors
    return _check_object(schema, data, "", errors), errors


def _check_object(
    schema: dict[str, FieldSpec], data: dict[str, Any], prefix: str, errors: list[dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        spec = schema.get(key)
        if spec is None:
            from .source import suggest

            hint = suggest(str(key), schema)
            errors.append(
                {
                    "field": path,
                    "value": value,
                    "message": f"unknown field '{path}'{hint}"
                    f" (known: {', '.join(schema) or 'none'})",
                }
            )
            continue
        if value is None:
            continue  # an explicit null is the same as leaving the field out
        checked = check_value(spec, value, path, errors)
        if checked is not _MISSING:
            out[key] = checked
    for key, spec in schema.items():
        name = f"{prefix}{key}"
        if key in out or any(
            e["field"] == name or e["field"].startswith((f"{name}.", f"{name}[")) for e in errors
        ):
            continue
        if spec.has_default:
            out[key] = spec.default
        elif spec.required:
            errors.append(
                {
                    "field": f"{prefix}{key}",
                    "value": None,
                    "message": f"'{prefix}{key}' is required ({spec.type}); it is missing",
                }
            )
    return out


def check_value(spec: FieldSpec, value: Any, path: str, errors: list[dict[str, Any]]) -> Any:
    """The value converted to the field's type, or _MISSING after reporting why not."""

    def bad(message: str) -> Any:
        errors.append(
            {
                "field": path,
                "value": to_json(value) if _jsonable(value) else str(value),
                "message": message,
            }
        )
        return _MISSING

    t = spec.type
    if t == "number":
        if not _is_number(value):
            return bad(f"'{path}' must be a number, got {_show(value)}")
    elif t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return bad(f"'{path}' must be a whole number, got {_show(value)}")
    elif t == "string":
        if not isinstance(value, str):
            return bad(f"'{path}' must be a string, got {_show(value)}")
        value = str(value)
    elif t == "boolean":
        if not isinstance(value, bool):
            return bad(f"'{path}' must be true or false, got {_show(value)}")
    elif t == "date":
        if isinstance(value, dt.datetime) or not isinstance(value, str | dt.date):
            return bad(f"'{path}' must be a date as \"YYYY-MM-DD\", got {_show(value)}")
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                return bad(f"'{path}' must be a date as \"YYYY-MM-DD\", got {_show(value)}")
    elif t == "datetime":
        if not isinstance(value, str | dt.datetime):
            return bad(f"'{path}' must be an ISO 8601 date-time, got {_show(value)}")
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return bad(f"'{path}' must be an ISO 8601 date-time, got {_show(value)}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
    elif t == "list":
        if not isinstance(value, list):
            return bad(f"'{path}' must be a list, got {_show(value)}")
        if spec.items is not None:
            before = len(errors)
            items = [
                check_value(spec.items, v, f"{path}[{i}]", errors) for i, v in enumerate(value)
            ]
            if len(errors) > before:
                return _MISSING
            value = items
        else:
            value = list(value)
    elif t == "object":
        if not isinstance(value, dict):
            return bad(f"'{path}' must be an object, got {_show(value)}")
        before = len(errors)
        value = (
            _check_object(spec.fields, value, f"{path}.", errors) if spec.fields else dict(value)
        )
        if len(errors) > before:
            return _MISSING
    if spec.enum is not None and value not in spec.enum:
        return bad(
            f"'{path}' must be one of {', '.join(map(str, spec.enum))}; got {_show(value)}"
            + _closest(value, spec.enum)
        )
    if spec.minimum is not None and value < spec.minimum:
        return bad(f"'{path}' must be at least {_num(spec.minimum)}; got {_show(value)}")
    if spec.maximum is not None and value > spec.maximum:
        return bad(f"'{path}' must be at most {_num(spec.maximum)}; got {_show(value)}")
    if spec.pattern is not None and not spec.pattern.fullmatch(value):
        return bad(f"'{path}' must match the pattern {spec.pattern.pattern}; got {_show(value)}")
    return value


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict | dt.date)


def _show(value: Any) -> str:
    """The value as JSON, shortened: what the caller sent, in the caller's notation."""
    text = json.dumps(to_json(value) if _jsonable(value) else str(value), ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _closest(value: Any, allowed: tuple[Any, ...]) -> str:
    """`; did you mean "meals"?` for a value off by case or a typo."""
    if not isinstance(value, str):
        return ""
    words = [a for a in allowed if isinstance(a, str)]
    same = [a for a in words if a.lower() == value.lower()]
    close = same or difflib.get_close_matches(value, words, n=1, cutoff=0.75)
    return f"; did you mean {_show(close[0])}?" if close else ""


def _num(x: float) -> str:
    return str(int(x)) if x.is_integer() else str(x)
