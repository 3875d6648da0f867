"""Audit reports (审计报告): one JSON and one HTML file per run in ``<home>/reports/``.

``audit-<run id>.json`` is :meth:`AuditRun.to_dict` (every archive with its findings, repairs, DA/T 70 BC
items and PREMIS events, and ``scope``: the division the run was confined to, which decides who may read the
report, :func:`repository.access.may_read_report`). ``audit-<run id>.html`` is a self-contained page in the language of the setting
``repository.language`` (``zh``, ``en``, or ``both``: the whole page once in Chinese, then once in English, each
part in one language): the summary, the archives that failed or were repaired with every finding, and the count
of intact ones. Every text comes from the message catalogue (``audit.report.*``); the JSON report carries each
issue's message in both languages.
Each report names the audit-log head of its run, an anchor for ``hsar audit log --verify``.
Both list at most :data:`FINDINGS_PER_ARCHIVE` findings of an archive (a damaged large archive could
otherwise yield a report of hundreds of megabytes), then how many more there are; the catalogue and the
audit log keep every finding.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..messages import LANGS, label, text
from ..preservation.ocfl_layout import replace_atomic
from .result import ArchiveResult, AuditRun

FINDINGS_PER_ARCHIVE = 100  # findings listed per archive in a report; the rest are counted

_STYLE = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left;
vertical-align:top}th{background:#eee}.failed{color:#b00}.repaired{color:#a60}.intact{color:#070}
code{font-size:90%}nav{float:right}"""
_HTML_LANG = {"zh": "zh-CN", "en": "en"}


def report_paths(directory: Path, run: AuditRun) -> tuple[Path, Path]:
    """Free names ``audit-<run id>[-n].json`` and ``.html`` in ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem, n = f"audit-{run.run_id}", 1
    while (directory / f"{stem}.json").exists() or (directory / f"{stem}.html").exists():
        n += 1
        stem = f"audit-{run.run_id}-{n}"
    return directory / f"{stem}.json", directory / f"{stem}.html"


def write_reports(paths: tuple[Path, ...], run: AuditRun, langs: tuple[str, ...] = LANGS) -> None:
    """The JSON report (every issue in every language) and the HTML page in ``langs``."""
    json_path, html_path = paths
    data = json.dumps(capped(run.to_dict()), ensure_ascii=False, indent=2, default=str) + "\n"
    replace_atomic(json_path, data.encode("utf-8"))
    replace_atomic(html_path, render_html(run, langs).encode("utf-8"))


def capped(report: dict[str, object]) -> dict[str, object]:
    """``report`` (:meth:`AuditRun.to_dict`) with at most :data:`FINDINGS_PER_ARCHIVE` findings per archive;
    an archive cut short gets ``findings_total`` and ``findings_omitted``."""
    archives = report.get("archives")
    for archive in archives if isinstance(archives, list) else ():
        findings = archive.get("findings")
        if isinstance(findings, list) and len(findings) > FINDINGS_PER_ARCHIVE:
            archive["findings_total"], archive["findings_omitted"] = len(findings), len(findings) - FINDINGS_PER_ARCHIVE
            archive["findings"] = findings[:FINDINGS_PER_ARCHIVE]
    return report


def _more_row(archive: ArchiveResult, lang: str) -> str:
    more = len(archive.findings) - FINDINGS_PER_ARCHIVE
    if more <= 0:
        return ""
    return f"<tr><td colspan='5'>{_e(text('audit.report.more_findings', lang, count=more))}</td></tr>"


def _e(value: object) -> str:
    return html.escape(str(value))


def _archive_rows(archive: ArchiveResult, lang: str) -> str:
    def t(key: str, **params: object) -> str:
        return _e(text(f"audit.report.{key}", lang, **params))

    rows = []
    for f in archive.findings[:FINDINGS_PER_ARCHIVE]:
        state = (t("repaired_from", source=f.source) if f.source else _e(label("verdict", "repaired", lang))
                 ) if f.repaired else t("open")
        rows.append(f"<tr><td><code>{_e(f.code)}</code></td><td>{_e(f.copy)}</td><td><code>{_e(f.issue.path)}"
                    f"</code></td><td>{_e(f.issue.message_in(lang))}</td><td>{state}</td></tr>")
    items = ", ".join(f"{i.code} {label('web.verdict', i.result, lang)}" for i in archive.checks.items
                      if i.result != "pass")
    head = "".join(f"<th>{t('col_' + c)}</th>" for c in ("code", "copy", "path", "message", "status"))
    about = t("archive", object=archive.object_id, head=archive.head, copies=", ".join(archive.copies),
              items=items or text("audit.report.none", lang))
    return (f"<h3 class='{archive.result}'>{_e(archive.archive_id)} — {_e(label('verdict', archive.result, lang))}"
            f"</h3><p>{about}</p><table><tr>{head}</tr>{''.join(rows)}{_more_row(archive, lang)}</table>")


def _part(run: AuditRun, lang: str, others: tuple[str, ...]) -> str:
    """The whole report in one language, with a link to its part in each of ``others``."""
    def t(key: str, **params: object) -> str:
        return _e(text(f"audit.report.{key}", lang, **params))

    counts = run.counts()
    summary = [(t("repository"), run.repository or "-"), (t("run"), run.run_id), (t("mode"), run.mode),
               (t("started"), run.started.isoformat()), (t("finished"), run.finished.isoformat()),
               (t("verdict"), text("audit.report.all_intact" if run.ok else "audit.report.problems_found", lang)),
               *((_e(label("verdict", r, lang)), counts[r]) for r in ("intact", "repaired", "failed")),
               (t("files"), run.files_checked), (t("bytes"), run.bytes_checked), (t("skipped"), run.skipped),
               (t("log_head"), run.log_head.to_dict() if run.log_head else "-")]
    head_rows = "".join(f"<tr><th>{k}</th><td>{_e(v)}</td></tr>" for k, v in summary)
    copies = "".join(f"<li>{_e(name)}: <code>{_e(root)}</code>{' — ' + _e(err) if err else ''}</li>"
                     for name, root, err in run.copies)
    issues = "".join(f"<li><code>{_e(i.code)}</code> {_e(i.message_in(lang))}</li>" for i in run.issues)
    notes = "".join(f"<li>{_e(n.render(lang))}</li>" for n in run.notes)
    alerts = "".join(f"<li>{_e(a.channel)}: {t('alert_ok') if a.ok else t('alert_failed')} {_e(a.detail)}</li>"
                     for a in run.alerts)
    details = "".join(_archive_rows(a, lang) for a in run.archives if a.result != "intact")
    nav = "".join(f"<nav><a href='#{o}' hreflang='{_HTML_LANG[o]}' lang='{_HTML_LANG[o]}'>{t('other_language')}</a></nav>" for o in others)
    return (f"<section id='{lang}' lang='{_HTML_LANG[lang]}'>{nav}<h1>{t('heading')}</h1>"
            f"<table>{head_rows}</table><h2>{t('copies')}</h2><ul>{copies}</ul>"
            + (f"<h2>{t('run_issues')}</h2><ul>{issues}</ul>" if issues else "")
            + (f"<h2>{t('notes')}</h2><ul>{notes}</ul>" if notes else "")
            + (f"<h2>{t('alerts')}</h2><ul>{alerts}</ul>" if alerts else "")
            + f"<h2>{t('problem_archives')}</h2>{details or '<p>' + t('none') + '</p>'}"
            + f"<p>{t('rest_intact', count=counts['intact'])}</p></section>")


def render_html(run: AuditRun, langs: tuple[str, ...] = LANGS) -> str:
    """The report page in each of ``langs``, one part after the other, each wholly in its language."""
    title = text("audit.report.title", langs[0], repository=run.repository or "hsar", run=run.run_id)
    parts = "".join(_part(run, lang, tuple(o for o in langs if o != lang)) for lang in langs)
    return (f"<!DOCTYPE html><html lang='{_HTML_LANG[langs[0]]}'><head><meta charset='utf-8'>"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>{parts}</body></html>\n")


def report_anchors(directory: Path) -> list[tuple[int, str]]:
    """``(seq, hash)`` of the log head named by every audit report in ``directory``."""
    anchors = []
    for path in sorted(directory.glob("audit-*.json")):
        try:
            head = json.loads(path.read_text("utf-8")).get("log_head")
        except (OSError, ValueError, AttributeError, RecursionError):
            continue
        if isinstance(head, dict) and isinstance(head.get("seq"), int) and isinstance(head.get("hash"), str):
            anchors.append((head["seq"], head["hash"]))
    return anchors
