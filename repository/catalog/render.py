"""Plain-text form of an :class:`~repository.catalog.views.ArchiveView`, for ``hsar show`` without ``--json``.

Resident identity numbers (GB 11643) are masked unless ``reveal_ids`` is given, wherever they stand (also
inside a title or an event detail): 个人隐私 must not leak by default. ``hsar show`` reveals them to the
archivist and masks them with ``--mask``.
"""

from __future__ import annotations

from ..model import RETENTION_LABELS, STATUS_LABELS, ArchiveType
from ..privacy import mask_text
from .views import ArchiveView

TYPE_LABELS = {ArchiveType.HOUSEHOLD: "住房保障对象档案", ArchiveType.UNIT: "住房保障房源档案"}


def _description(view: ArchiveView) -> list[str]:
    a = view.archive
    lines = [
        f"{a.title}  [{a.identifier}]",
        f"  类型 {TYPE_LABELS.get(a.type, a.type.value)}  行政区划 {a.division}  保管机构 {a.institution}",
        f"  档号 {a.reference_code}  全宗号 {a.fonds}  年度 {a.year}  保管期限 {RETENTION_LABELS[a.retention]}"
        f"  利用 {a.access.value}  起止 {a.start}–{a.end or ''}",
    ]
    if (h := a.household) is not None:
        members = "、".join(f"{m.name}({m.relation}, {m.resident_id})" for m in h.members) or "无"
        lines.append(f"  户主 {h.head.name} ({h.head.resident_id})  成员 {members}")
        status = f"{STATUS_LABELS[h.status.status]} 自 {h.status.since}" if h.statuses else "-"
        lines.append(f"  状态 {status}  保障方式 {h.security_type}  收入 {h.income_band}  住址 {h.address}")
    if (u := a.unit) is not None:
        lines.append(f"  {u.project} {u.estate} {u.building}栋{u.entrance}单元{u.room}室  {u.layout} {u.area}m²"
                     f"  {u.housing_type}  来源 {u.source}  产权 {u.ownership}")
        lines.append(f"  地址 {u.address}")
    v = a.volume
    lines.append(f"  案卷 目录号 {v.catalogue} 案卷号 {v.number} 盒号 {v.box} {v.shelf}")
    return lines


def _items(view: ArchiveView) -> list[str]:
    lines = ["材料 (items by class):"]
    for group in view.items_by_class:
        lines.append(f"  {group.label} ({group.material_class.value}): {len(group.items)} 件")
        for i in group.items:
            p = i.paper
            lines.append(f"    {i.number:>3} {i.subtype} 《{i.title}》 {i.date} {i.pages}页  "
                         f"目录{p.catalogue} 卷{p.volume} 件{p.item} 页{p.page_start}-{p.page_end} 盒{p.box} {p.shelf}"
                         f"  [{i.version_added}]")
    return lines


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _rest(view: ArchiveView) -> list[str]:
    lines = ["版本 (versions):"]
    lines += [f"  {v.number} {v.created:%Y-%m-%d %H:%M:%SZ}  {v.file_count} files {v.bytes} bytes"
              f"  {v.message}  {v.sip_name}  {(v.checks or {}).get('result', '')}" for v in view.versions]
    lines.append(f"文件 (files of {view.head_version}, {view.total_bytes} bytes):")
    lines += ["  " + _join(f.path, str(f.size), f.puid or "-", f.format_name, f.format_version, f.policy)
              for f in view.files]
    lines.append("事件 (events):")
    lines += ["  " + _join(f"{e.datetime:%Y-%m-%d %H:%M:%SZ}", e.type, e.outcome, e.agent, e.object_path,
                           f"[{e.version}]") for e in view.events]
    lines.append("关联 (relations):")
    lines += [f"  {'→' if r.direction == 'out' else '←'} {r.type} {r.other} {r.other_title or '(未编目)'}"
              f" {r.start}–{r.end or ''}" for r in view.relations] or ["  无"]
    return lines


def render_text(view: ArchiveView, reveal_ids: bool = False) -> str:
    """What ``hsar show ARCHIVE_ID`` prints."""
    text = "\n".join(_description(view) + _items(view) + _rest(view)) + "\n"
    return text if reveal_ids else mask_text(text)
