"""The docs document every command, option and setting, and their links lead somewhere.

docs/cli.md has every command and option, docs/configuration.md every setting; the README links
every page of docs/, and every relative link in the README and docs/*.md names a file (and a
heading of it) that exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from service.cli import app
from service.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI_DOC = (DOCS / "cli.md").read_text(encoding="utf-8")
CONFIGURATION_DOC = (DOCS / "configuration.md").read_text(encoding="utf-8")


def commands(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    # typer carries its own copy of click, so look at the shape, not the class.
    if hasattr(group, "commands"):
        for name, command in sorted(group.commands.items()):
            yield from commands(command, f"{prefix} {name}")
    else:
        yield prefix, group


COMMANDS = list(commands(typer.main.get_command(app), "casewise"))


def mentions(text: str, option: str) -> bool:
    """Whether ``text`` has ``option`` as a whole option: ``--rules`` is not in ``--rulesets``."""
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_an_option_is_found_only_whole() -> None:
    assert not mentions("casewise keys create --rulesets '*'", "--rules")
    assert mentions("casewise serve --rules rules", "--rules")
    assert mentions("`--rules=DIR`", "--rules")
    assert not mentions("--no-rules", "--rules")


def test_there_are_commands() -> None:
    names = [name for name, _ in COMMANDS]
    assert {"casewise serve", "casewise decide", "casewise rules check"} <= set(names)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_and_its_options_are_in_docs_cli(name: str, command: Any) -> None:
    assert f"`{name}" in CLI_DOC, f"docs/cli.md has no `{name}`"
    for param in command.params:
        if param.param_type_name == "option" and param.name != "help":
            for option in param.opts:
                if option.startswith("--"):
                    assert mentions(CLI_DOC, option), f"docs/cli.md lacks {option} of {name}"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_in_docs_configuration(field: str) -> None:
    variable = ENV_PREFIX + field.upper()
    assert f"`{variable}`" in CONFIGURATION_DOC, f"docs/configuration.md lacks {variable}"


PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """Markdown without its code blocks and inline code, where a `](` is not a link."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """The heading anchors GitHub makes for a Markdown page (`#-1` suffixes for repeats)."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        unique, repeat = slug, 0
        while unique in found:
            repeat += 1
            unique = f"{slug}-{repeat}"
        found.add(unique)
    return found


def relative_links(page: Path) -> list[str]:
    targets = LINK_TARGET.findall(prose(page.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_heading_anchors_follow_github() -> None:
    assert anchors("# A `b` c/d\n## `casewise users add NAME --role ROLE`\n# A b cd") == {
        "a-b-cd",
        "casewise-users-add-name---role-role",
        "a-b-cd-1",
    }
    assert relative_links(ROOT / "README.md"), "found no link in the README"


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_relative_links_lead_to_a_file_and_heading(page: Path) -> None:
    for target in relative_links(page):
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: the link to {target} leads to no file"
        if fragment and file.suffix == ".md":
            found = anchors(file.read_text(encoding="utf-8"))
            assert fragment in found, f"{page.name}: {file.name} has no heading #{fragment}"


def test_the_readme_links_every_docs_page() -> None:
    linked = {target.partition("#")[0] for target in relative_links(ROOT / "README.md")}
    for page in sorted(DOCS.glob("*.md")):
        assert f"docs/{page.name}" in linked, f"README does not link docs/{page.name}"
