"""``hsar cache prune``: keep the home's caches within their bounds (a thin adapter over
:func:`repository.services.research.prune_copies`). Texts come from ``data/messages/cache.json``."""

from __future__ import annotations

import click

from .base import Context, cli, emit_result, json_option, pass_ctx
from .progress import human_bytes


@cli.group("cache")
def cache_group() -> None:
    """缓存维护 Caches of the home (made again from the store when missing)."""


@cache_group.command("prune")
@json_option()
@pass_ctx
def prune_cmd(c: Context, as_json: bool) -> None:
    """按上限清理利用件缓存 Hold the researchers' copies (cache/research/) to cache.research_max_mb.

    Above the bound, the least recently served files are removed until the folder holds at most 90% of it;
    files being written (*.tmp) and files used in the last 10 minutes are never removed. A copy removed is
    made again when it is next asked for. The worker does the same every 5 minutes. The cache is derived
    from the store, not preservation data: no PREMIS event is recorded. Prints what was removed and what is
    left (files, bytes). Exit 0.
    """
    from ..services.research import prune_copies

    with c.repo() as repo:  # a home that is not one is a CONFIG error
        pruned = prune_copies(repo.cfg)
    if as_json:
        emit_result("cache-prune", pruned.to_dict())
        return
    bound = (c.text("cli.cache.bound", mib=pruned.bound // (1024 * 1024)) if pruned.bound
             else c.text("cli.cache.no_bound"))
    click.echo(c.text("cli.cache.pruned", removed=pruned.removed, freed=human_bytes(pruned.freed),
                      kept=pruned.kept, kept_bytes=human_bytes(pruned.kept_bytes), bound=bound))
