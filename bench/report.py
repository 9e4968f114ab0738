"""The results table: printed for people, and written as Markdown."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    measurement: str
    value: str
    compared_with: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        status = "" if self.met is None else ("met" if self.met else "NOT MET")
        return [self.measurement, self.value, self.compared_with, self.ratio, self.target, status]


HEADER = ["Measurement", "Value", "Compared with", "Ratio", "Target", "Status"]


def rate(value: float, unit: str = "decisions/s") -> str:
    return f"{value:,.0f} {unit}"


def text_table(rows: list[Row]) -> str:
    grid = [HEADER, *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(HEADER))]
    lines = []
    for n, line in enumerate(grid):
        lines.append(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(title: str, notes: list[str], rows: list[Row]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = [f"# {title}", ""]
    lines += [f"- {n}" for n in notes]
    lines += ["", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(esc(c) for c in r.cells()) + " |" for r in rows]
    return "\n".join(lines) + "\n"
