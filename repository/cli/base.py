"""Shared pieces of the ``hsar`` command line: a thin adapter over the library (parse, call one function, render).

Exit codes: 0 success, 1 the input was checked and found bad (invalid SIP, failed audit) or the command could
not be done (any other :class:`HsarError`), 2 unusable arguments or configuration (:class:`UsageError`,
:class:`ConfigError`), 3 an internal error, 130 interrupted. Errors are shown as one clear line with a stable
code, never as a traceback (``--debug`` shows one for developers).
"""

from __future__ import annotations

import json
import traceback
from typing import Any

import click

from .. import __version__, config
from ..errors import ConfigError, HsarError, UsageError

LANGS = ("zh", "en")


class Context:
    """What every command gets: the home, the language and (lazily) the settings."""

    def __init__(self, home: str | None, lang: str, debug: bool) -> None:
        self.home = config.resolve_home(home)
        self.lang = lang
        self.debug = debug
        self._cfg: config.Config | None = None

    @property
    def cfg(self) -> config.Config:
        if self._cfg is None:
            self._cfg = config.load(self.home)
        return self._cfg

    def t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en


pass_ctx = click.make_pass_decorator(Context)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class HsarGroup(click.Group):
    """Turns library errors into one-line messages and exit codes instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, BrokenPipeError):
            raise
        except (UsageError, ConfigError) as exc:
            click.echo(f"错误 error [{exc.code}]: {exc}", err=True)
            ctx.exit(2)
        except HsarError as exc:
            click.echo(f"错误 error [{exc.code}]: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("已中断 interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence before a user sees a traceback
            obj = ctx.find_object(Context)
            if obj is not None and obj.debug:
                traceback.print_exc()
            click.echo(f"内部错误 internal error [INTERNAL]: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(3)


@click.group(cls=HsarGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="HSAR_HOME", type=click.Path(file_okay=False),
              help="仓库主目录 Repository home (default ./hsar-data; env HSAR_HOME).")
@click.option("--lang", envvar="HSAR_LANG", type=click.Choice(LANGS), default="zh", show_default=True,
              help="界面语言 Interface language.")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks of internal errors.")
@click.version_option(__version__, prog_name="hsar")
@click.pass_context
def cli(ctx: click.Context, home: str | None, lang: str, debug: bool) -> None:
    """hsar：住房保障档案数字保存库 / digital-preservation repository for housing-security archives."""
    ctx.obj = Context(home, lang, debug)
