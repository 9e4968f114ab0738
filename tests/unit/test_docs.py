"""The README documents every command, option and setting (the docs stay honest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from service.cli import app
from service.settings import ENV_PREFIX, Settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def commands(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    # typer carries its own copy of click, so look at the shape, not the class.
    if hasattr(group, "commands"):
        for name, command in sorted(group.commands.items()):
            yield from commands(command, f"{prefix} {name}")
    else:
        yield prefix, group


COMMANDS = list(commands(typer.main.get_command(app), "casewise"))


def test_there_are_commands() -> None:
    names = [name for name, _ in COMMANDS]
    assert {"casewise serve", "casewise decide", "casewise rules check"} <= set(names)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_and_its_options_are_in_the_readme(name: str, command: Any) -> None:
    assert f"`{name}" in README, f"README has no `{name}`"
    for param in command.params:
        if param.param_type_name == "option" and param.name != "help":
            for option in param.opts:
                if option.startswith("--"):
                    assert option in README, f"README does not mention {option} of {name}"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_in_the_readme(field: str) -> None:
    variable = ENV_PREFIX + field.upper()
    assert f"`{variable}`" in README, f"README does not document {variable}"
