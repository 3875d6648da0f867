"""Plain-text form of an :class:`~repository.catalog.views.ArchiveView`, for ``hsar show`` without ``--json``.

Labels follow the interface language (``zh``, the default, or ``en``); the archive's own values (titles,
names, addresses, material subtypes) are shown as recorded. Resident identity numbers (GB 11643) are masked
unless ``reveal_ids`` is given, wherever they stand (also inside a title or an event detail): 个人隐私 must not
leak by default. ``hsar show`` reveals them to the archivist and masks them with ``--mask``.
"""

from __future__ import annotations

from .. import messages
from ..privacy import mask_text
from .views import ArchiveView


class _Labels:
    """``t.type`` is the label ``show.type`` of the message catalogue in the interface language."""

    def __init__(self, lang: str) -> None:
        self.lang = messages.normalise_lang(lang)
        self.en = self.lang == "en"

    def __getattr__(self, key: str) -> str:
        return messages.text(f"show.{key}", self.lang)

    def of(self, kind: str, value: object) -> str:
        return messages.label(kind, value, self.lang)


def _description(view: ArchiveView, t: _Labels) -> list[str]:
    a = view.archive
    kind = t.of("archive_type", a.type.value)
    retention = t.of("retention", a.retention.value)
    lines = [
        f"{a.title}  [{a.identifier}]",
        f"  {t.type} {kind}  {t.division} {a.division}  {t.institution} {a.institution}",
        f"  {t.reference} {a.reference_code}  {t.fonds} {a.fonds}  {t.year} {a.year}  {t.retention} {retention}"
        f"  {t.access} {t.of('access', a.access.value)}"
        f"  {t.span} {a.start}–{a.end or ''}",
    ]
    if (h := a.household) is not None:
        members = "、".join(f"{m.name}({m.relation}, {m.resident_id})" for m in h.members) or t.none
        lines.append(f"  {t.head} {h.head.name} ({h.head.resident_id})  {t.members} {members}")
        if h.statuses:
            status = f"{t.of('status', h.status.status.value)} {t.since} {h.status.since}"
        else:
            status = "-"
        lines.append(f"  {t.status} {status}  {t.security} {t.of('security_type', h.security_type)}  {t.income} {h.income_band}"
                     f"  {t.address} {h.address}")
    if (u := a.unit) is not None:
        place = messages.text("show.unit_place", t.lang, building=u.building, entrance=u.entrance, room=u.room)
        lines.append(f"  {u.project} {u.estate} {place}  {u.layout} {u.area}m²"
                     f"  {u.housing_type}  {t.source} {u.source}  {t.ownership} {u.ownership}")
        lines.append(f"  {t.unit_address} {u.address}")
    v = a.volume
    lines.append(f"  {t.volume} {t.catalogue} {v.catalogue} {t.volume_no} {v.number} {t.box} {v.box} {v.shelf}")
    return lines


def _items(view: ArchiveView, t: _Labels) -> list[str]:
    lines = [t.items]
    for group in view.items_by_class:
        lines.append(f"  {group.label} ({group.material_class.value}): {len(group.items)} {t.count}")
        for i in group.items:
            p = i.paper
            pages = f"{t.pages} {i.pages}" if t.en else f"{i.pages}{t.pages}"
            lines.append(f"    {i.number:>3} {i.subtype} 《{i.title}》 {i.date} {pages}  "
                         f"{t.p_cat}{p.catalogue} {t.p_vol}{p.volume} {t.p_item}{p.item} "
                         f"{t.p_page}{p.page_start}-{p.page_end} {t.p_box}{p.box} {p.shelf}  [{i.version_added}]")
    return lines


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _rest(view: ArchiveView, t: _Labels) -> list[str]:
    lines = [t.versions]
    lines += [f"  {v.number} {messages.local_stamp(v.created)}  "
              + messages.text("show.file_count", t.lang, files=v.file_count, bytes=v.bytes)
              + f"  {v.message}  {v.sip_name}  {(v.checks or {}).get('result', '')}" for v in view.versions]
    lines.append(f"{t.files} (files of {view.head_version}, {view.total_bytes} bytes):" if not t.en
                 else f"files of {view.head_version} ({view.total_bytes} bytes):")
    lines += ["  " + _join(f.path, str(f.size), f.puid or "-", f.format_name, f.format_version, f.policy)
              for f in view.files]
    lines.append(t.events)
    lines += ["  " + _join(messages.local_stamp(e.datetime), t.of("premis.event", e.type),
                           t.of("premis.outcome", e.outcome), e.agent, e.object_path,
                           f"[{e.version}]") for e in view.events]
    lines.append(t.relations)
    lines += [f"  {'→' if r.direction == 'out' else '←'} {r.type} {r.other} {r.other_title or t.uncatalogued}"
              f" {r.start}–{r.end or ''}" for r in view.relations] or [f"  {t.none}"]
    return lines


def render_text(view: ArchiveView, reveal_ids: bool = False, lang: str = "zh") -> str:
    """What ``hsar show ARCHIVE_ID`` prints, with labels in ``lang`` (``zh`` or ``en``)."""
    t = _Labels(lang)
    text = "\n".join(_description(view, t) + _items(view, t) + _rest(view, t)) + "\n"
    return text if reveal_ids else mask_text(text)
