"""``hsar search`` and ``hsar reindex``."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import click

from .. import messages
from .base import Context, HsarCommand, cli, emit_json, emit_result, json_option, pass_ctx
from .progress import Bar

if TYPE_CHECKING:
    pass


class QueryCommand(HsarCommand):
    """A command whose arguments are query words: a word that starts with ``-`` (``-退出``, negation) is a
    query term wherever it stands, not an option; the command's own options still work anywhere on the line,
    and an unknown ``--option`` is still refused. ``--`` ends the options as usual."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {opt: not (p.is_flag or p.count) for p in self.get_params(ctx) if isinstance(p, click.Option)
                       for opt in (*p.opts, *p.secondary_opts)}
        options: list[str] = []
        words: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                words += args[i + 1:]
                break
            name = arg.split("=", 1)[0] if arg.startswith("--") else arg
            if name in takes_value:
                options.append(arg)
                if takes_value[name] and name == arg:
                    if i + 1 == len(args):
                        return super().parse_args(ctx, args)  # click says the option needs a value
                    options.append(args[i + 1])
                    i += 1
            elif arg.startswith("--"):
                options.append(arg)  # not an option of ours: click refuses it
            else:
                words.append(arg)
            i += 1
        return super().parse_args(ctx, [*options, "--", *words])


def _numbers(values: object) -> str:
    """Item numbers as runs: [1, 2, 3, 5] -> ``1–3, 5``."""
    if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
        return str(values)
    runs: list[list[int]] = []
    for n in sorted(values):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


@cli.command("search", cls=QueryCommand)
@click.argument("query", nargs=-1, metavar="[QUERY]...")
@click.option("--division", help="行政区划范围（含下级）Division scope, sub-divisions included.")
@click.option("--type", "archive_type", type=click.Choice(["household", "unit"]), help="档案类型 Archive type.")
@click.option("--facet", "facets", multiple=True, help="分面统计字段（可重复）Facet field (repeatable), e.g. status.")
@click.option("--sort", type=click.Choice(["relevance", "year", "-year", "id", "-id"]), help="排序 Sort order.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="页码 Page.")
@click.option("--per-page", default=20, show_default=True, type=click.IntRange(1, 1000), help="每页条数 Hits per page.")
@click.option("--mask", is_flag=True, help="遮蔽身份证号 Mask resident ID numbers (110101********1234).")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON {total, hits, facets}.")
@pass_ctx
def search_cmd(c: Context, query: tuple[str, ...], division: str | None, archive_type: str | None,
               facets: tuple[str, ...], sort: str | None, page: int, per_page: int, mask: bool,
               as_json: bool) -> None:
    """检索档案 Search archives: words, "quoted phrases", field:value, year:2019..2021, A OR B, -word.

    The query may be several words (ANDed) or none (every archive, e.g. for facets); a word starting with -
    leaves out the archives matching it (no -- needed). A query left with nothing searchable (only
    punctuation or emoji) is refused. --division takes a code of the division tree (6 digits, or 9 for a
    street) and includes every division below it.

    Fields (Chinese aliases too, e.g. 户主:, 小区:, 盒号:): name, id (resident ID), address, estate, building,
    entrance, room, title, text, class, subtype, year, type, security, status, retention, access, division,
    archive, ref (档号), fonds, catalogue, volume, box, shelf. The CLI runs as the local administrator and
    shows resident IDs in full unless --mask is given.
    """
    from ..search.results import SearchRequest, label
    from ..services.search import search

    filters = {"type": archive_type} if archive_type else {}
    request = SearchRequest(query=" ".join(query), filters=filters, division=division, facets=facets, sort=sort,
                            page=page, per_page=per_page)
    with c.repo() as repo:
        result = search(repo, request, mask=mask)
    if result.behind is not None and not as_json:  # the index lacks archives: say so, and what fixes it
        click.echo(messages.text("faults.index_behind", c.lang, indexed=result.behind[0],
                                 catalogued=result.behind[1], engine=c.cfg["search.engine"]), err=True)
    if as_json:  # with "index_behind" when the index lacks archives
        emit_json(result.to_dict())
        return
    click.echo(c.text("cli.search.total", total=result.total))
    for hit in result.hits:
        click.echo(f"• {hit.title}  [{hit.archive_id}]  {hit.division}")
        for p in hit.paper:
            click.echo(f"    {label('paper', c.lang)}: " + "  ".join(
                f"{label(k, c.lang)} {_numbers(v) if k == 'items' else v}" for k, v in p.items()
                if v not in (None, "", [])))
        for item in hit.items[:5]:
            pages = "".join(f"  ({label('found_on', c.lang)} {f['file'].rsplit('/', 1)[-1]} p.{f['page']})"
                            for f in item.get("found_on", ()))
            click.echo(f"    {item.get('number')}. [{item.get('subtype')}] {item.get('title')}{pages}")
        for name, fragment in hit.highlights.items():
            text = html.unescape(" ".join(fragment.replace("<em>", "【").replace("</em>", "】").split()))
            click.echo(f"    {label(name, c.lang)}: {text}")
    for name, counts in result.facets.items():
        click.echo(f"{label(name, c.lang)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@cli.command("reindex")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1), help="每批文档数 Documents per batch.")
@click.option("--force", is_flag=True,
              help="存储为空而目录有档案时也重建 Rebuild even when the store holds no object but the catalogue lists archives.")
@json_option()
@pass_ctx
def reindex_cmd(c: Context, batch: int, force: bool, as_json: bool) -> None:
    """由存储重建检索索引 Rebuild the search index from the OCFL store alone."""
    from ..services.search import reindex

    bar = Bar(not as_json and c.verbosity >= 0, c.text("cli.reindex.bar"))  # drawn once the store's size is known
    seen = [0]

    def progress(done: int, total: int) -> None:
        bar.start(total)
        bar.update(done - seen[0])
        seen[0] = done

    with bar, c.repo() as repo:
        result = reindex(repo, batch=batch, progress=progress, force=force)
    if as_json:
        emit_result("reindex", {"indexed": result.indexed, "in_store": result.in_store,
                                "recovered": list(result.recovered)})
        return
    click.echo(c.text("cli.reindex.done", count=result.indexed))
