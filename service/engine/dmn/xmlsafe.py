"""DMN XML read by defusedxml: no DTD, no entity, no external reference, bounded size.

Elements keep the line they start on, so every problem names ``FILE.dmn:line``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import defusedxml  # type: ignore[import-untyped]
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]

from .. import limits
from ..errors import Problem, RuleFileError
from ..source import FileTooLarge, read_limited

MAX_DEPTH = 64  # a DMN model is a few levels deep; thousands of levels are an attack


class _LineParser(DefusedXMLParser):  # type: ignore[misc]
    """defusedxml's parser (DTDs forbidden too) that notes where each element starts."""

    def __init__(self) -> None:
        super().__init__(forbid_dtd=True, forbid_entities=True, forbid_external=True)
        self.lines: dict[int, int] = {}
        self.depth = 0

    def _start(self, tag: str, attr_list: Any) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _TooDeep
        elem = super()._start(tag, attr_list)
        self.lines[id(elem)] = self.parser.CurrentLineNumber
        return elem

    def _end(self, tag: str) -> Any:
        self.depth -= 1
        return super()._end(tag)


class _TooDeep(Exception):
    pass


class XmlDoc:
    """A parsed XML document and the line of each of its elements."""

    def __init__(self, path: Path, root: ET.Element, lines: dict[int, int]) -> None:
        self.path, self.root, self._lines = path, root, lines

    def line(self, elem: ET.Element) -> int:
        return self._lines.get(id(elem), 1)

    def problem(self, elem: ET.Element | None, message: str) -> RuleFileError:
        line = 1 if elem is None else self.line(elem)
        return RuleFileError([Problem(str(self.path), line, 1, message)])


def read_bytes(path: Path, data: bytes | None = None) -> bytes:
    """The file's bytes, refused past the rule file size limit before being read whole."""
    limit = limits.current().max_file_bytes
    try:
        if data is None:
            return read_limited(path, limit)
        if len(data) > limit:
            raise FileTooLarge(len(data), limit)
    except FileTooLarge as exc:
        raise RuleFileError([Problem(str(path), 1, 1, str(exc))]) from None
    except OSError as exc:
        raise RuleFileError([Problem(str(path), 1, 1, f"cannot read the file: {exc}")]) from None
    return data


def parse_xml(path: Path, data: bytes) -> XmlDoc:
    """The XML of ``data``; raises RuleFileError naming what is wrong or refused."""
    parser = _LineParser()

    def refuse(line: int, message: str) -> RuleFileError:
        return RuleFileError([Problem(str(path), line, 1, message)])

    try:
        parser.feed(data)
        root = parser.close()
    except defusedxml.DTDForbidden:
        raise refuse(
            parser.parser.CurrentLineNumber,
            "the file declares a DTD (<!DOCTYPE ...>); DMN files need none, and a DTD can "
            "define entities that read other files or expand without end: remove it",
        ) from None
    except defusedxml.EntitiesForbidden as exc:
        raise refuse(
            parser.parser.CurrentLineNumber,
            f"the file defines the XML entity {getattr(exc, 'name', '?')!r}; entities are "
            "refused (they can read other files or expand without end): write the text out",
        ) from None
    except defusedxml.ExternalReferenceForbidden:
        raise refuse(
            parser.parser.CurrentLineNumber,
            "the file refers to an external resource; DMN imports of other files are not "
            "read: put everything in one file",
        ) from None
    except defusedxml.DefusedXmlException as exc:
        raise refuse(1, f"the XML is refused: {exc}") from None
    except _TooDeep:
        raise refuse(
            parser.parser.CurrentLineNumber,
            f"the XML is nested more than {MAX_DEPTH} levels deep; a DMN model never needs that",
        ) from None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        raise refuse(line, f"the file is not well-formed XML: {exc}") from None
    return XmlDoc(path, root, parser.lines)
