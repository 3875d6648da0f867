"""``hsar paper``: the paper register and dual-track reconciliation (双轨制): ``import``, ``reconcile`` and
``demo-register`` (the demo's register, clean or with one discrepancy of each class planted).

Exit codes (:mod:`.exits`): ``import`` 0 loaded, 1 a bad file (every bad row listed, nothing loaded);
``reconcile`` 0 whether or not it found anything (the findings are the answer), 1 when it could not run.
``reconcile --store`` reconciles the whole repository and stores the result the ``/paper`` page reads (what
the page's ``paper`` job does, run here in the shell).
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import messages
from ..errors import PaperError, UsageError
from .base import Context, cli, emit_json, pass_ctx
from .sip import render_issue


@cli.group("paper")
def paper() -> None:
    """纸质档案与电子档案核对（双轨制） Paper register and dual-track reconciliation."""


@paper.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def import_cmd(c: Context, file: Path) -> None:
    """导入纸质档案登记表 Load the paper register from FILE (.csv in UTF-8 or GB18030, or .xlsx).

    The file replaces the register of every fonds (全宗号) it holds; other fonds are kept. A file with any
    bad row loads nothing: every bad row is listed with its line and code.
    """
    from ..services.paper import import_register

    with c.repo() as repo:
        try:
            done = import_register(repo, file)
        except PaperError as exc:
            for i in exc.issues:
                click.echo(render_issue(c, i), err=True)
            raise
    click.echo(messages.text("paper.imported", c.lang, rows=done.rows, file=done.source,
                             fonds=", ".join(done.fonds), replaced=done.replaced))


@paper.command("reconcile")
@click.option("--division", help="只核对该行政区划（含下级） Only this division and those below it.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="输出 CSV 工作清单 Print the worklist as CSV.")
@click.option("--store", "store", is_flag=True,
              help="核对整个仓库并保存结果（网页 /paper 读取） Reconcile the whole repository and store the result "
                   "the /paper page shows (reports/paper-reconciliation.sqlite), as the page's job does.")
@click.option("--when-changed", "when_changed", is_flag=True,
              help="与 --store 同用：仅当保存的结果过期（登记表重新导入，或此后有档案入库、补充、销毁）时才核对 "
                   "With --store: only when the stored result is out of date (the register imported again, or "
                   "archives ingested, supplemented or disposed of since), as the scheduler's paper job does.")
@pass_ctx
def reconcile_cmd(c: Context, division: str | None, as_json: bool, as_csv: bool, store: bool,
                  when_changed: bool) -> None:
    """核对纸质与电子档案 Reconcile the paper register with the electronic archives.

    Reports paper items not yet digitised, electronic items with no paper reference, page counts that differ
    (register, description, scanned pages stored), paper references used twice, box or location
    disagreements and gaps in item numbers; counts per division, rolled up the division tree.

    Runs now, in this shell. The web page /paper shows a stored result instead: an archivist starts it there
    (a job run by `hsar worker`), or --store here writes it (whole repository; not with --division, --json or
    --csv).
    """
    from ..access import Principal, Role, scope_prefixes, valid_scope
    from ..divisions import tree_for
    from ..services.paper import CODES, findings_csv, reconcile_paper

    if as_json and as_csv:
        raise UsageError(msgid="paper.one_format")
    if when_changed and not store:
        raise UsageError(msgid="paperjob.when_changed_alone")
    if store:
        if as_json or as_csv or division is not None:
            raise UsageError(msgid="paperjob.store_alone")
        from ..services.paper_stored import refresh, store_now

        with c.repo() as repo:
            made = refresh(repo, "shell").made if when_changed else store_now(repo, "shell")
            report = repo.paths.paper_report
        if made is None:
            click.echo(messages.text("paperjob.current", c.lang, file=report))
            return
        click.echo(messages.text("paperjob.stored", c.lang, file=report, register=made.register_rows,
                                 electronic=made.electronic_items))
        return
    if division is not None and not valid_scope(division):
        raise UsageError(msgid="paper.bad_division", division=division)
    with c.repo() as repo:
        scope = scope_prefixes(Principal("shell", Role.ADMIN, division or "000000"))
        result = reconcile_paper(repo, scope)
        tree = tree_for(repo.cfg)
    if as_json:
        emit_json(result.to_dict(c.lang))
        return
    if as_csv:
        click.echo(findings_csv(result, tree, c.lang), nl=False)
        return
    click.echo(messages.text("paper.summary", c.lang, register=result.register_rows,
                             electronic=result.electronic_items, findings=len(result.findings)))
    if result.clean:
        click.echo(messages.text("paper.clean", c.lang))
        return
    click.echo("\t".join([messages.text("paper.division", c.lang), *CODES]))
    for d in result.divisions:
        click.echo("\t".join(["  " * d.depth + f"{d.name} {d.code}", *map(str, d.counts)]))
    click.echo()
    for f in result.findings:
        where = f"{f.archive_id or '-'}" + (f" #{f.item}" if f.item else "") + (f" L{f.line}" if f.line else "")
        click.echo(f"{f.division or '-'}\t{where}\t" + render_issue(c, f.issue))


@paper.command("demo-register")
@click.argument("sips", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plant", is_flag=True,
              help="植入每类差异各一处（预期结果写入 OUT.expected.json） Plant one discrepancy of each class.")
@pass_ctx
def demo_register_cmd(c: Context, sips: Path, out: Path, plant: bool) -> None:
    """生成演示数据的纸质档案登记表 Write the paper register of the demo SIPs in SIPS (from hsar demo-data)."""
    from ..services.paper import demo_register

    expected = demo_register(sips, out, planted=plant)
    click.echo(messages.text("paper.demo_written", c.lang, file=out, planted=len(expected)))
