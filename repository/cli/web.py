"""``hsar serve``: the web application under waitress (a production WSGI server, not Flask's own)."""

from __future__ import annotations

import gc

import click

from .base import Context, cli, pass_ctx


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="端口 Port.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="工作线程数 Worker threads.")
@click.option("--https", "https", is_flag=True,
              help="位于 HTTPS 反向代理之后：Cookie 仅经 HTTPS 发送 Behind an HTTPS proxy: Secure cookies, HSTS.")
@pass_ctx
def serve_cmd(c: Context, host: str, port: int, threads: int, https: bool) -> None:
    """启动网页服务 Serve the web application (waitress); stop with Ctrl-C.

    Set HSAR_SECRET_KEY so sessions survive a restart (otherwise a new key is made at each start).
    """
    from waitress import serve

    from ..home import Repository
    from ..web import create_app

    Repository.open(c.home).close()  # not a home: a clear error now, not at the first request
    app = create_app(c.home, {"HSAR_HTTPS": https})
    # what start-up made (modules, the app, message catalogues: some 100,000 objects) lives as long as the
    # server: kept out of the garbage collector's full passes, each of which would otherwise walk all of it
    # (~0.1 s, every request of the process waiting) while requests come and go
    gc.collect()
    gc.freeze()
    click.echo(c.text("cli.serve.serving", host=host, port=port), err=True)
    serve(app, host=host, port=port, threads=threads, ident="hsar")
