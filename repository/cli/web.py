"""``hsar serve``: the web application under waitress (a production WSGI server, not Flask's own)."""

from __future__ import annotations

import gc
import ipaddress
from typing import Any

import click

from .base import Context, cli, pass_ctx


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="端口 Port.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="工作线程数 Worker threads.")
@click.option("--https", "https", is_flag=True,
              help="位于 HTTPS 反向代理之后：Cookie 仅经 HTTPS 发送 Behind an HTTPS proxy: Secure cookies, HSTS.")
@click.option("--proxy", metavar="ADDRESS", default=None,
              help="反向代理的地址：仅信任它发来的 X-Forwarded-For/-Proto/-Host/-Port "
                   "The reverse proxy's address: X-Forwarded-For/-Proto/-Host/-Port are trusted from it alone.")
@pass_ctx
def serve_cmd(c: Context, host: str, port: int, threads: int, https: bool, proxy: str | None) -> None:
    """启动网页服务 Serve the web application (waitress); stop with Ctrl-C.

    Set HSAR_SECRET_KEY so sessions survive a restart (otherwise a new key is made at each start).
    Behind a reverse proxy with TLS (README: "Behind a reverse proxy"): --https --proxy 127.0.0.1.
    """
    from waitress import serve

    trusted = _proxy(c, proxy)

    from ..home import Repository
    from ..web import create_app, shared

    Repository.open(c.home).close()  # not a home: a clear error now, not at the first request
    app = create_app(c.home, {"HSAR_HTTPS": https})
    with app.app_context():  # nor a state database of another schema (STATE, naming hsar init): the app's own
        shared.state(shared.state_url(app.extensions["hsar.config"]))  # handle, opened now, kept for requests
    # what start-up made (modules, the app, message catalogues: some 100,000 objects) lives as long as the
    # server: kept out of the garbage collector's full passes, each of which would otherwise walk all of it
    # (~0.1 s, every request of the process waiting) while requests come and go
    gc.collect()
    gc.freeze()
    click.echo(c.text("cli.serve.serving", host=host, port=port), err=True)
    serve(app, host=host, port=port, threads=threads, ident="hsar", **trusted)


#: what a trusted proxy may tell (waitress sets the client's address, the scheme, host and port from them); the
#: same headers from any other peer are removed before the application sees them
PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port")


def _proxy(c: Context, proxy: str | None) -> dict[str, Any]:
    """waitress's settings for ``--proxy``: one proxy, by its IP address (not a name, not ``*``: the address
    decides whose X-Forwarded-For is believed, and so whose login attempts count against whom)."""
    if proxy is None:
        return {}
    try:
        address = str(ipaddress.ip_address(proxy.strip()))
    except ValueError:
        raise click.BadParameter(c.text("cli.serve.proxy_address", value=proxy), param_hint="--proxy") from None
    return {"trusted_proxy": address, "trusted_proxy_count": 1, "trusted_proxy_headers": set(PROXY_HEADERS),
            "clear_untrusted_proxy_headers": True}
