"""``hsar ingest``, ``hsar show`` and ``hsar rebuild-catalog``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..model import RETENTION_LABELS
from .base import Context, cli, emit_json, pass_ctx
from .sip import render_issue

_STATUS = {"ingested": ("已入库", "ingested"), "duplicate": ("重复，未变更", "duplicate, nothing changed"),
           "rejected": ("已拒收", "rejected")}


def _repo(c: Context):  # noqa: ANN202 - Repository
    from ..home import Repository

    return Repository.open(c.home)


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="每个提交包输出一个 JSON 对象 One JSON object per SIP.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="并行准备提交包的进程数 Processes preparing SIPs in parallel.")
@pass_ctx
def ingest_cmd(c: Context, paths: tuple[Path, ...], as_json: bool, workers: int) -> None:
    """接收入库 Ingest SIPs (directories or .zip/.tar/.tar.gz) in the order given.

    A folder that is not itself a bag is expanded to the bags and packages inside it, sorted by name.
    Exit 0 when every SIP was ingested or was an exact duplicate, 1 when any was rejected.
    """
    from ..ingest.pipeline import ingest

    sips = _expand(paths)
    with _repo(c) as repo:
        show_bar = not as_json and sys.stderr.isatty()
        with click.progressbar(length=len(sips), label=c.t("入库", "ingest"), file=sys.stderr,
                               hidden=not show_bar) as bar:
            def progress(outcome) -> None:  # noqa: ANN001
                bar.update(1)
                if as_json:
                    emit_json(outcome.to_dict(c.lang))
                else:
                    _render_outcome(c, outcome)

            outcomes = ingest(repo, sips, workers=workers, progress=progress)
    counts = {s: sum(o.status == s for o in outcomes) for s in _STATUS}
    if not as_json:
        click.echo(c.t(f"共 {len(outcomes)} 个：入库 {counts['ingested']}，重复 {counts['duplicate']}，拒收 {counts['rejected']}",
                       f"{len(outcomes)} SIPs: {counts['ingested']} ingested, {counts['duplicate']} duplicate, "
                       f"{counts['rejected']} rejected"))
    raise SystemExit(1 if counts["rejected"] else 0)


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    """Bags and packages named, or found one level down in a folder that is not a bag itself."""
    sips: list[Path] = []
    for path in paths:
        if path.is_dir() and not (path / "bagit.txt").exists():
            sips += sorted(p for p in path.iterdir() if (p / "bagit.txt").exists()
                           or p.name.endswith((".zip", ".tar", ".tar.gz", ".tgz")))
        else:
            sips.append(path)
    return sips


def _render_outcome(c: Context, outcome) -> None:  # noqa: ANN001 - IngestOutcome
    label = _STATUS[outcome.status][0 if c.lang == "zh" else 1]
    where = f" → {outcome.archive_id} {outcome.version}" if outcome.version else ""
    click.echo(f"{'✘' if outcome.status == 'rejected' else '✔'} {Path(outcome.sip).name}: {label}{where}")
    for i in outcome.issues:
        if outcome.status == "rejected" or i.severity.value != "info":
            click.echo("    " + render_issue(c, i))
    if outcome.report:
        click.echo("    " + c.t(f"报告：{outcome.report}", f"report: {outcome.report}"))


@cli.command("show")
@click.argument("archive_id")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@pass_ctx
def show_cmd(c: Context, archive_id: str, as_json: bool) -> None:
    """查看档案 Show an archive: description, paper references, versions, items, files, events, relations."""
    from ..errors import HsarError

    with _repo(c) as repo:
        view = repo.catalog.show(archive_id)
    if view is None:
        raise HsarError(c.t(f"找不到档案 {archive_id}", f"no archive {archive_id}"), "NOT-FOUND")
    if as_json:
        emit_json(view.to_dict())
        return
    for line in render_view(c, view):
        click.echo(line)


def render_view(c: Context, view) -> list[str]:  # noqa: ANN001 - ArchiveView
    a = view.archive
    t = c.t
    lines = [f"{a.title}  [{a.identifier}]",
             f"  {t('类型', 'type')}: {a.type.value}   {t('区划', 'division')}: {a.division}   "
             f"{t('全宗号', 'fonds')}: {a.fonds}   {t('档号', 'reference')}: {a.reference_code}",
             f"  {t('保管期限', 'retention')}: {RETENTION_LABELS[a.retention]} ({a.retention.value})   "
             f"{t('开放状态', 'access')}: {a.access.value}   {t('保管机构', 'institution')}: {a.institution}"]
    if a.household:
        h = a.household
        lines.append(f"  {t('户主', 'head')}: {h.head.name} {h.head.resident_id}   {t('保障方式', 'security')}: "
                     f"{h.security_type}   {t('状态', 'status')}: {h.status.status.value} ({h.status.since})")
    if a.unit:
        u = a.unit
        lines.append(f"  {u.estate} {u.building}栋{u.entrance}单元{u.room}室  {u.layout} {u.area}m²  {u.address}")
    lines.append(t("纸质档案", "Paper references") + ":")
    for vol in view.paper_references()["volumes"]:
        lines.append(f"  {t('目录号', 'catalogue')} {vol['catalogue']}  {t('案卷号', 'volume')} {vol['volume']}  "
                     f"{t('盒号', 'box')} {vol['box']}  {t('位置', 'shelf')} {vol['shelf_text']}  "
                     f"{t('件号', 'items')} {', '.join(str(n) for n in vol['items'])}")
    lines.append(t("版本", "Versions") + ":")
    for v in view.versions:
        lines.append(f"  {v.number}  {v.created:%Y-%m-%d %H:%M}  {v.package_type}  {v.sip_name}  "
                     f"{v.file_count} {t('个文件', 'files')} {v.bytes} B")
    lines.append(t("材料", "Items") + ":")
    for group in view.items_by_class:
        lines.append(f"  {group.label} ({group.material_class.value})")
        for i in group.items:
            p = i.paper
            lines.append(f"    {i.number:>3}. [{i.subtype}] {i.title} {i.date}  {i.pages}{t('页', 'pp')}  "
                         f"{t('案卷', 'vol')} {p.volume} {t('件', 'item')} {p.item} {t('页', 'pp')} "
                         f"{p.page_start}-{p.page_end} {t('盒', 'box')} {p.box}  ({i.version_added})")
    lines.append(t("文件", "Files") + ":")
    for f in view.files:
        lines.append(f"  {f.path}  {f.size} B  {f.puid or '?'} {f.format_name or ''}  {f.policy or ''}")
    lines.append(t("关联", "Relations") + ":")
    for r in view.relations:
        lines.append(f"  {r.direction} {r.type} {r.other} {r.other_title or ''} {r.start} – {r.end or ''}")
    lines.append(t("保存事件", "Events") + ":")
    for e in view.events:
        lines.append(f"  {e.datetime:%Y-%m-%d %H:%M:%S} {e.version} {e.type}: {e.outcome or ''} {e.detail or ''}")
    return lines


@cli.command("rebuild-catalog")
@pass_ctx
def rebuild_catalog_cmd(c: Context) -> None:
    """由存储重建目录 Rebuild the catalogue from the OCFL store alone."""
    from ..catalog.rebuild import rebuild
    from ..ingest.pipeline import policy_of

    with _repo(c) as repo:
        count = rebuild(repo.catalog, repo.store, policy_of=policy_of())
    click.echo(c.t(f"已由存储重建 {count} 件档案的目录", f"rebuilt the catalogue of {count} archives from storage"))
