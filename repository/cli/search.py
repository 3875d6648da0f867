"""``hsar search`` and ``hsar reindex``."""

from __future__ import annotations

import sys

import click

from .base import Context, cli, emit_json, pass_ctx


@cli.command("search")
@click.argument("query", default="")
@click.option("--division", help="行政区划范围（含下级）Division scope, sub-divisions included.")
@click.option("--type", "archive_type", type=click.Choice(["household", "unit"]), help="档案类型 Archive type.")
@click.option("--facet", "facets", multiple=True, help="分面统计字段（可重复）Facet field (repeatable), e.g. status.")
@click.option("--sort", type=click.Choice(["relevance", "year", "-year", "id", "-id"]), help="排序 Sort order.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="页码 Page.")
@click.option("--per-page", default=20, show_default=True, type=click.IntRange(1, 1000), help="每页条数 Hits per page.")
@click.option("--mask", is_flag=True, help="遮蔽身份证号 Mask resident ID numbers (110101********1234).")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON {total, hits, facets}.")
@pass_ctx
def search_cmd(c: Context, query: str, division: str | None, archive_type: str | None, facets: tuple[str, ...],
               sort: str | None, page: int, per_page: int, mask: bool, as_json: bool) -> None:
    """检索档案 Search archives: words, "quoted phrases", field:value, year:2019..2021.

    Fields (Chinese aliases too, e.g. 户主:, 小区:, 盒号:): name, id (resident ID), address, estate, building,
    entrance, room, title, text, class, subtype, year, type, security, status, retention, access, division,
    archive, ref (档号), fonds, catalogue, volume, box, shelf. The CLI runs as the local administrator and
    shows resident IDs in full unless --mask is given.
    """
    from ..home import Repository
    from ..search.masking import mask_result
    from ..search.results import SearchRequest

    filters = {"type": archive_type} if archive_type else {}
    request = SearchRequest(query=query, filters=filters, division=division, facets=facets, sort=sort,
                            page=page, per_page=per_page)
    with Repository.open(c.home) as repo:
        result = repo.search.search(request)
    if mask:
        result = mask_result(result)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(c.t(f"共 {result.total} 件", f"{result.total} archives"))
    for hit in result.hits:
        click.echo(f"• {hit.title}  [{hit.archive_id}]  {hit.division}")
        for p in hit.paper:
            click.echo(f"    {c.t('纸质', 'paper')}: " + "  ".join(f"{k}={v}" for k, v in p.items() if v not in (None, "")))
        for item in hit.items[:5]:
            click.echo(f"    {item.get('number')}. [{item.get('subtype')}] {item.get('title')}")
        for name, fragment in hit.highlights.items():
            text = " ".join(fragment.replace("<em>", "【").replace("</em>", "】").split())
            click.echo(f"    {name}: {text}")
    for name, counts in result.facets.items():
        click.echo(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@cli.command("reindex")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1), help="每批文档数 Documents per batch.")
@pass_ctx
def reindex_cmd(c: Context, batch: int) -> None:
    """由存储重建检索索引 Rebuild the search index from the OCFL store alone."""
    from ..home import Repository
    from ..search.engine import open_engine
    from ..search.indexing import reindex_from_store

    with Repository.open(c.home) as repo:
        total = sum(1 for _ in repo.store.iter_object_ids())
        with click.progressbar(length=total, label=c.t("重建索引", "reindex"), file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as bar:
            seen = [0]

            def progress(done: int) -> None:
                bar.update(done - seen[0])
                seen[0] = done

            # rebuild=True: an index of an older schema is replaced, not refused
            engine = open_engine(repo.cfg["search.engine"], repo.cfg.path("search.index"), rebuild=True)
            try:
                count = reindex_from_store(engine, repo.store, batch=batch, progress=progress)
            finally:
                engine.close()
    click.echo(c.t(f"已由存储重建 {count} 件档案的索引", f"reindexed {count} archives from storage"))
