"""Shared pieces of the ``hsar`` command line: a thin adapter over the library (parse, call one function, render).

Exit codes: :class:`.exits.Exit` (defined once there). Errors are shown as one clear line with a stable code
in the user's language (:meth:`HsarError.render`), never as a traceback (``--debug`` shows one for developers).

Click's own argument errors (an unknown option, a value out of range, a missing argument), for the options of
the group and of every subcommand, are shown the same way: ``错误 [USAGE]：<click's message>`` (``error [USAGE]:
…`` with ``--lang en``) and a hint to ``--help`` on the next line, exit 2. ``--help`` and ``--version`` exit 0.
Every text comes from the message catalogue (``data/messages/cli.json``) in ``--lang``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import Any, NoReturn

import click

from .. import __version__, config, messages
from ..errors import ConfigError, HsarError, UsageError, environment_fault
from ..home import Repository
from ..home.layout import owner_only
from .exits import Exit

LANGS = ("zh", "en")
#: Codes of hsar's errors that may hide a home that cannot be written (a database or index that could not be
#: opened, say): on a read-only home they are ENV-READONLY. Any other error is an answer (NOT-FOUND,
#: SEARCH-STALE, ...) that a read-only home, where reading works, gives as any home does.
_OPENING_CODES = frozenset({"HSAR", "CATALOG", "STATE", "SEARCH", "PRESERVATION", "OCFL-IO"})


def _maybe_unwritable(exc: HsarError) -> bool:
    return exc.code in _OPENING_CODES or "unable to open" in str(exc)


class Context:
    """What every command gets: the home, the language and (lazily) the settings."""

    def __init__(self, home: str | None, lang: str, debug: bool, verbosity: int = 0) -> None:
        if home == "" or (home is None and os.environ.get("HSAR_HOME") == ""):
            raise UsageError(msgid="cli.home_empty")  # would silently mean ./hsar-data
        self.home = config.resolve_home(home)
        self.lang = lang
        self.debug = debug
        self.verbosity = verbosity  # -1 with -q (results only, no progress), 0, 1 with -v (more detail)
        self._cfg: config.Config | None = None

    @property
    def cfg(self) -> config.Config:
        if self._cfg is None:
            self._cfg = config.load(self.home)
        return self._cfg

    def text(self, key: str, /, **params: object) -> str:
        """The catalogue's message ``key`` in this command's ``--lang``."""
        return messages.text(key, self.lang, **params)

    def repo(self) -> Repository:
        """The home's handles (nothing opened or written yet); use it as a context manager."""
        return Repository.open(self.home)


pass_ctx = click.make_pass_decorator(Context)


_LIBRARY_LOGS = "hsar-library-logs"  # the name of the handler route_library_logs installs


def route_library_logs(debug: bool) -> None:
    """Where the log records of the libraries hsar uses go (hsar's library code configures no logging):
    nowhere, so that pyHanko's traceback for every signer it cannot trust, say, never reaches the terminal
    (the outcome is in the issues: FMT006, FMT007); with ``--debug``, to stderr (warnings and worse).

    Without a handler on the root logger Python's last-resort handler prints warnings to stderr; this one
    takes their place. Idempotent: calling it again replaces the handler it installed before.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _LIBRARY_LOGS]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr) if debug else logging.NullHandler()
    handler.set_name(_LIBRARY_LOGS)
    root.addHandler(handler)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


#: ``--json`` of the commands added with issue #15 prints one envelope; its JSON Schema per command is
#: ``docs/schemas/<command>.schema.json`` (checked by tests/cli/test_cli_json.py).
ENVELOPE_VERSION = 1


def emit_result(command: str, result: Any, *, ok: bool = True) -> None:  # noqa: ANN401 - any JSON value
    """Print ``{"schema": "hsar/<command>/1", "ok": …, "result": …}``."""
    emit_json({"schema": f"hsar/{command}/{ENVELOPE_VERSION}", "ok": ok, "result": result})


def json_option(what: str = "Print the result as JSON (one envelope: schema, ok, result)."
                ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--json`` flag of a command printing :func:`emit_result`."""
    return click.option("--json", "as_json", is_flag=True, help=f"输出 JSON {what}")


def one_line_usage(exc: click.UsageError) -> click.UsageError:
    """Make click show ``exc`` as hsar's one-line error (code ``USAGE``) plus a hint, instead of its
    three-line English usage text; click's message, type and exit code (2) are kept. A group called without
    a subcommand still prints its help."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return exc

    def show(file: Any = None) -> None:  # noqa: ANN401 - click's signature
        command = exc.ctx.command_path if exc.ctx is not None else "hsar"
        message = " ".join(exc.format_message().split())
        lang = _lang_of(exc.ctx)
        click.echo(messages.text("cli.error", lang, code="USAGE", message=message), file=file, err=True)
        click.echo(messages.text("cli.usage_hint", lang, command=command), file=file, err=True)

    exc.show = show  # type: ignore[method-assign]
    return exc


def _lang_of(ctx: click.Context | None) -> str:
    """The ``--lang`` of the command line being run, also before its context was made (``HSAR_LANG``, or
    ``--lang`` in the arguments), so that even an error in parsing the options is shown in that language."""
    obj = ctx.find_object(Context) if ctx is not None else None
    if obj is not None:
        return obj.lang
    given = ctx.find_root().params.get("lang") if ctx is not None else None
    if isinstance(given, str):
        return messages.normalise_lang(given)
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return messages.normalise_lang(args[i + 1])
        if arg.startswith("--lang="):
            return messages.normalise_lang(arg.split("=", 1)[1])
    return messages.normalise_lang(os.environ.get("HSAR_LANG"))


class _NamesItsCommand:
    """Click raises some parse errors without a context ("Option '--x' requires an argument."): give them the
    command's, so the hint names the right ``--help``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except click.UsageError as exc:
            if exc.ctx is None:
                exc.ctx = ctx
            raise


class LazyCommands(dict[str, click.Command]):
    """A group's command table whose commands are registered by importing their module when first asked for:
    :meth:`get` and ``in`` import the module of that one command, listing the table imports them all."""

    def __init__(self, commands: Mapping[str, click.Command], modules: dict[str, str], package: str) -> None:
        super().__init__(commands)
        self.modules, self.package = modules, package

    def _load(self, name: object) -> None:
        module = self.modules.get(name) if isinstance(name, str) else None
        if module is not None and not dict.__contains__(self, name):
            import_module(f"{self.package}.{module}")  # registers its commands here (add_command)

    def _load_all(self) -> None:
        for name in self.modules:
            self._load(name)

    def get(self, name: str, default: Any = None) -> Any:  # noqa: ANN401 - dict's signature
        self._load(name)
        return super().get(name, default)

    def __getitem__(self, name: str) -> click.Command:
        self._load(name)
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        self._load(name)
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return super().__iter__()

    def __len__(self) -> int:
        self._load_all()
        return super().__len__()

    def keys(self) -> Any:  # noqa: ANN401 - dict's view types
        self._load_all()
        return super().keys()

    def values(self) -> Any:  # noqa: ANN401
        self._load_all()
        return super().values()

    def items(self) -> Any:  # noqa: ANN401
        self._load_all()
        return super().items()


class HsarCommand(_NamesItsCommand, click.Command):
    """Every ``hsar`` command (the class :meth:`HsarGroup.command` makes)."""


def _fail(ctx: click.Context, exc: HsarError) -> NoReturn:
    """One line ``错误 [CODE]: message`` in the command's language, and the exit its code calls for."""
    obj = ctx.find_object(Context)
    lang = obj.lang if obj else _lang_of(ctx)
    click.echo(messages.text("cli.error", lang, code=exc.code, message=exc.render(lang)), err=True)
    ctx.exit(Exit.for_error(exc.code, isinstance(exc, (UsageError, ConfigError))))


class HsarGroup(_NamesItsCommand, click.Group):
    """Turns library errors and click's usage errors into one-line messages and exit codes instead of
    tracebacks and usage texts. Its commands are :class:`HsarCommand` and its groups ``HsarGroup`` again."""

    command_class = HsarCommand
    group_class = type  # click: groups made by .group() are of this group's class

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:  # noqa: ANN401
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:  # the group's own options: --home, --lang
            raise one_line_usage(exc)  # noqa: B904 - the same exception, shown differently

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # an unknown command; a subcommand's options and arguments, any depth
            raise one_line_usage(exc)  # noqa: B904 - the same exception, shown differently
        except (click.exceptions.Exit, click.ClickException, click.Abort, BrokenPipeError):
            raise
        except HsarError as exc:
            obj = ctx.find_object(Context)
            if not isinstance(exc, (UsageError, ConfigError)):  # a full disk, a read-only home: named
                exc = environment_fault(exc, obj.home if obj and _maybe_unwritable(exc) else None) or exc
            _fail(ctx, exc)
        except KeyboardInterrupt:
            click.echo(messages.text("cli.interrupted", _lang_of(ctx)), err=True)
            ctx.exit(Exit.INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - the last line of defence before a user sees a traceback
            obj = ctx.find_object(Context)
            fault = environment_fault(exc, obj.home if obj else None)  # a full disk, a read-only home: exit 1
            if fault is not None:
                _fail(ctx, fault)
            if obj is not None and obj.debug:
                traceback.print_exc()
            click.echo(messages.text("cli.internal", _lang_of(ctx), detail=f"{type(exc).__name__}: {exc}"), err=True)
            ctx.exit(Exit.INTERNAL)


@click.group(cls=HsarGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="HSAR_HOME", type=click.Path(file_okay=False),
              help="仓库主目录 Repository home (default ./hsar-data; env HSAR_HOME).")
@click.option("--lang", envvar="HSAR_LANG", type=click.Choice(LANGS), default="zh", show_default=True,
              help="界面语言 Interface language.")
@click.option("-q", "--quiet", is_flag=True, help="只输出结果：无进度条、无逐项明细 Results only: no progress, no per-item lines.")
@click.option("-v", "--verbose", is_flag=True, help="更多明细（如完好的档案、提示级问题） More detail (intact archives, info issues).")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks of internal errors.")
@click.version_option(__version__, prog_name="hsar")
@click.pass_context
def cli(ctx: click.Context, home: str | None, lang: str, quiet: bool, verbose: bool, debug: bool) -> None:
    """hsar：住房保障档案数字保存库 / digital-preservation repository for housing-security archives."""
    owner_only()  # a home holds personal data: everything any command creates in it is owner-only
    if quiet and verbose:
        raise UsageError(msgid="cli.quiet_verbose")
    ctx.obj = Context(home, lang, debug, -1 if quiet else 1 if verbose else 0)  # before anything that may fail, so errors are shown in --lang
    route_library_logs(debug)
