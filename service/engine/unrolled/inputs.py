"""The input of the one-function decision read into locals: checked inline for ``fast``, or
read from the values ``schema.check_input`` gave for ``checked``."""

from __future__ import annotations

from typing import Any

from ..schema import FieldSpec
from .checkgen import check_lines
from .writer import Generator, Parts


class InputReads(Generator):
    """Writes the lines that give each input path the body reads its local."""

    def _read_values(self, src: str) -> list[str]:
        """Lines reading each input path the body uses from the checked values dict."""
        lines: list[str] = []
        named: dict[Parts, str] = {}

        def local(parts: Parts) -> str:
            if parts in named:
                return named[parts]
            name = self.w.inputs.get(parts) or f"p{len(named)}"
            if len(parts) == 1:
                lines.append(f"{name} = {src}.get({parts[0]!r})")
            else:
                parent = local(parts[:-1])
                lines.append(
                    f"{name} = {parent}.get({parts[-1]!r}) if isinstance({parent}, dict) else None"
                )
            named[parts] = name
            return name

        for parts in list(self.w.inputs):
            local(parts)
        return lines

    def _check(self) -> list[str]:
        """The input checked into locals; the paths below a field checked whole read from it."""
        requested = dict(self.w.inputs)
        wanted: dict[Parts, str] = {}
        derived: list[Parts] = []
        unknown = [name for parts, name in requested.items() if parts[0] not in self.inputs]
        for parts in requested:
            if parts[0] not in self.inputs:
                continue
            stop = _declared_prefix(self.inputs, parts, requested)
            top = parts[:stop]
            wanted[top] = requested.get(top) or wanted.get(top) or f"q{len(wanted)}"
            if stop < len(parts):
                derived.append(parts)
        lines = ["try:"]
        lines += ["    " + line for line in check_lines(self.inputs, wanted, self.w, "")]
        lines += ["except _Invalid:", "    return None"]
        lines += [f"{name} = None" for name in unknown]  # not in the schema: never present
        named = dict(wanted)
        for parts in sorted(derived, key=len):
            for k in range(len(parts) - 1, 0, -1):
                if parts[:k] in named:
                    break
            for j in range(k + 1, len(parts) + 1):
                if parts[:j] in named:
                    continue
                parent = named[parts[: j - 1]]
                name = requested.get(parts[:j]) or f"q{len(named)}"
                lines.append(
                    f"{name} = {parent}.get({parts[j - 1]!r}) if isinstance({parent}, dict) "
                    "else None"
                )
                named[parts[:j]] = name
        return lines


def _declared_prefix(schema: dict[str, FieldSpec], parts: Parts, requested: Any) -> int:
    """How many of ``parts`` the inline check gives a local: down to a scalar field, or to
    the first field it checks whole (an object read whole, with a default or no fields)."""
    fields = schema
    for k, part in enumerate(parts):
        spec = fields.get(part)
        if spec is None:
            return max(k, 1)  # below an object checked whole
        if k == len(parts) - 1:
            return k + 1
        inline = (
            spec.type == "object"
            and spec.fields
            and not spec.has_default
            and spec.enum is None
            and spec.minimum is None
            and spec.maximum is None
            and spec.pattern is None
            and parts[: k + 1] not in requested
        )
        if not inline:
            return k + 1
        if parts[k + 1] not in spec.fields:
            return k + 1  # an undeclared field: read from the object checked whole
        fields = spec.fields
    return len(parts)
