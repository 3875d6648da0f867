"""The command table of ``hsar`` (repository.cli.COMMANDS): each command's module is imported when the command
is first asked for, so the table must name, for every command any module of repository/cli registers, the
module that registers it (issue 15: ``hsar audit`` starts without importing the other commands' modules)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import repository.cli as package
from repository.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_names_every_command_and_the_module_that_registers_it() -> None:
    for module in pkgutil.iter_modules(package.__path__):
        import_module(f"repository.cli.{module.name}")  # whatever registers a command has now done so
    registered = {name: command.callback.__module__ for name, command in dict.items(cli.commands)
                  if command.callback is not None}
    assert registered == {name: f"repository.cli.{module}" for name, module in COMMANDS.items()}
    assert sorted(cli.list_commands(None)) == sorted(COMMANDS)  # type: ignore[arg-type]


def test_a_command_imports_its_own_module_only() -> None:
    probe = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from repository.cli import cli; "
             "assert cli.get_command(None, 'replicate') is not None; "
             "print(' '.join(m for m in sys.modules if m.startswith('repository.cli.')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert "repository.cli.audit" in out
    for other in ("users", "store", "search", "web", "jobs", "disposal", "paper", "transfer", "dip", "ocr"):
        assert f"repository.cli.{other}" not in out, other
