"""The README stays true to the code: every command, option and setting is documented there."""

from __future__ import annotations

from pathlib import Path

import click

from repository.cli import cli
from repository.config import settings_markdown

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


def _commands(group: click.Group, prefix: str = "hsar") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found += _commands(command, path)
    return found


def test_readme_starts_with_the_two_commands() -> None:
    head = README[:600]
    assert "make demo" in head and "make test" in head


def test_every_command_and_option_is_in_the_readme() -> None:
    missing = []
    for path, command in _commands(cli):
        if f"`{path}" not in README:
            missing.append(path)
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt not in ("--help",) and opt not in README:
                    missing.append(f"{path} {opt}")
    assert missing == []


def test_settings_table_is_current() -> None:
    assert settings_markdown() in README, "regenerate the README settings table from repository.config"
