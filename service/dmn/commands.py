"""`casewise rules import-dmn`, `export-dmn` and `tck`: DMN models in and out, and the TCK."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from service.engine import RuleFileError, load_ruleset
from service.engine.dmn import tck as tck_runner
from service.engine.dmn.convert import import_file
from service.engine.dmn.export import export_file
from service.settings import SettingsError, load_settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(code)


def _problems(exc: RuleFileError) -> NoReturn:
    for p in exc.problems:
        err.print(str(p), markup=False)
    _fail(f"{len(exc.problems)} problem(s)")


def _rules_dir() -> Path:
    try:
        return load_settings().rules_dir
    except SettingsError as exc:
        _fail(str(exc), 2)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temp file renamed over it)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_dmn(
    file: Annotated[Path, typer.Argument(help="The DMN model (.dmn, DMN 1.2 to 1.5 XML).")],
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write <name>.yaml in, or - for standard output "
            "[default: CASEWISE_RULES_DIR or rules].",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing rule file.")] = False,
) -> None:
    """Write a DMN model as a Casewise rule file in FEEL (checked by loading it first)."""
    if not file.is_file():
        _fail(f"{file} is not a file; pass a .dmn file", 2)
    try:
        imported = import_file(file)
        text = imported.yaml()
        target_dir = Path("-") if str(out_dir) == "-" else (out_dir or _rules_dir())
        target = target_dir / f"{imported.name}.yaml"
        load_ruleset(target, data=text.encode())  # the file it writes must load
    except RuleFileError as exc:
        _problems(exc)
    if str(target_dir) == "-":
        typer.echo(text, nl=False)
        return
    if not target_dir.is_dir():
        _fail(f"{target_dir} is not a folder; create it or pass --out", 2)
    if target.exists() and not force:
        _fail(f"{target} exists; pass --force to replace it")
    write_atomic(target, text)
    decisions = len(imported.results)
    out.print(f"wrote {target}: {decisions} decision(s) from {file}", markup=False)


def export_dmn(
    ruleset: Annotated[str, typer.Argument(help="A ruleset name in the rules folder, or a file.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the XML to this file [default: print].")
    ] = None,
) -> None:
    """Write a ruleset's tables, computed values and functions as DMN 1.5 XML."""
    path = Path(ruleset)
    if not path.is_file():
        path = _rules_dir() / f"{ruleset}.yaml"
        if not path.is_file():
            _fail(f"no ruleset '{ruleset}': neither a file nor {path}", 2)
    try:
        xml = export_file(path)
    except RuleFileError as exc:
        _problems(exc)
    if out_file is None:
        typer.echo(xml, nl=False)
        return
    write_atomic(out_file, xml)
    out.print(f"wrote {out_file}", markup=False)


def tck(
    folder: Annotated[Path, typer.Argument(help="A DMN TCK folder, e.g. compliance-level-2.")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the JSON report to this file.")
    ] = None,
) -> None:
    """Import every TCK model in a folder, run every test case, print a table and totals."""
    if not folder.is_dir():
        _fail(f"{folder} is not a folder; pass the TCK's compliance-level-2 folder", 2)
    try:
        results = tck_runner.run_dir(folder)
    except RuleFileError as exc:
        _problems(exc)
    if not results:
        _fail(f"no DMN models (*.dmn) under {folder}", 2)
    data = tck_runner.report(results)
    table = Table("model", "cases", "passed", "failed")
    for model in data["models"]:
        table.add_row(
            model["model"], str(model["cases"]), str(model["passed"]), str(model["failed"])
        )
    totals = data["totals"]
    table.add_row("total", str(totals["cases"]), str(totals["passed"]), str(totals["failed"]))
    out.print(table)
    for model in data["models"]:
        for failure in model["failures"]:
            for why in failure["why"]:
                out.print(f"{model['model']} case {failure['case']}: {why}", markup=False)
    share = 100 * totals["passed"] / totals["cases"] if totals["cases"] else 0.0
    out.print(
        f"{totals['passed']} passed, {totals['failed']} failed "
        f"({share:.1f}% of {totals['cases']} test cases, "
        f"{totals['models_passed']} of {totals['models']} models whole)",
        markup=False,
    )
    if report is not None:
        write_atomic(report, json.dumps(data, indent=2) + "\n")
    if totals["failed"]:
        raise typer.Exit(1)
