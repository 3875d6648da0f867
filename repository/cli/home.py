"""``hsar init``: create a repository home."""

from __future__ import annotations

import click

from .base import Context, cli, emit_result, json_option, pass_ctx


@cli.command()
@click.option("--force", is_flag=True,
              help="覆盖已有 hsar.toml 和演示密钥（存储中已有档案时拒绝） "
                   "Overwrite hsar.toml and demo keys (refused once the store holds archives).")
@json_option()
@pass_ctx
def init(c: Context, force: bool, as_json: bool) -> None:
    """创建仓库主目录 Create the repository home: hsar.toml, storage, catalogue, demo PKI."""
    from ..services.homes import init as init_home

    result = init_home(c.home, force=force)
    if as_json:
        emit_result("init", {"home": str(c.home), "created": result.created, "kept": result.kept})
        return
    for line in result.created:
        click.echo(c.text("cli.init.created", line=line))
    for line in result.kept:
        click.echo(c.text("cli.init.kept", line=line))
