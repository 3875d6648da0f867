"""Audit reports (审计报告): one JSON and one HTML file per run in ``<home>/reports/``.

``audit-<run id>.json`` is :meth:`AuditRun.to_dict` (every archive with its findings, repairs, DA/T 70 BC
items and PREMIS events). ``audit-<run id>.html`` is a self-contained page in Chinese (English beside it):
the summary, the archives that failed or were repaired with every finding, and the count of intact ones.
Each report names the audit-log head of its run, an anchor for ``hsar audit log --verify``. Both list at most
:data:`FINDINGS_PER_ARCHIVE` findings of an archive (a damaged large archive could otherwise yield a report of
hundreds of megabytes), then how many more there are; the catalogue and the audit log keep every finding.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..messages import text
from ..preservation.ocfl_layout import replace_atomic
from .result import ArchiveResult, AuditRun

FINDINGS_PER_ARCHIVE = 100  # findings listed per archive in a report; the rest are counted
RESULT_LABELS = {"intact": "完好 intact", "repaired": "已修复 repaired", "failed": "失败 failed"}
_STYLE = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left;
vertical-align:top}th{background:#eee}.failed{color:#b00}.repaired{color:#a60}.intact{color:#070}
code{font-size:90%}"""


def report_paths(directory: Path, run: AuditRun) -> tuple[Path, Path]:
    """Free names ``audit-<run id>[-n].json`` and ``.html`` in ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem, n = f"audit-{run.run_id}", 1
    while (directory / f"{stem}.json").exists() or (directory / f"{stem}.html").exists():
        n += 1
        stem = f"audit-{run.run_id}-{n}"
    return directory / f"{stem}.json", directory / f"{stem}.html"


def write_reports(paths: tuple[Path, ...], run: AuditRun) -> None:
    json_path, html_path = paths
    data = json.dumps(capped(run.to_dict()), ensure_ascii=False, indent=2, default=str) + "\n"
    replace_atomic(json_path, data.encode("utf-8"))
    replace_atomic(html_path, render_html(run).encode("utf-8"))


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


def _more_row(archive: ArchiveResult) -> str:
    more = len(archive.findings) - FINDINGS_PER_ARCHIVE
    if more <= 0:
        return ""
    return (f"<tr><td colspan='5'>{_e(text('audit.report.more_findings', 'zh', count=more))} "
            f"{_e(text('audit.report.more_findings', 'en', count=more))}</td></tr>")


def _e(value: object) -> str:
    return html.escape(str(value))


def _archive_rows(archive: ArchiveResult) -> str:
    rows = []
    for f in archive.findings[:FINDINGS_PER_ARCHIVE]:
        state = "已修复 repaired" + (f" ← {_e(f.source)}" if f.source else "") if f.repaired else "未修复 open"
        rows.append(f"<tr><td><code>{_e(f.code)}</code></td><td>{_e(f.copy)}</td><td><code>{_e(f.issue.path)}"
                    f"</code></td><td>{_e(f.issue.message)}</td><td>{state}</td></tr>")
    items = ", ".join(f"{_e(i.code)} {_e(i.result)}" for i in archive.checks.items if i.result != "pass")
    return (f"<h3 class='{archive.result}'>{_e(archive.archive_id)} — {RESULT_LABELS[archive.result]}</h3>"
            f"<p>对象 object <code>{_e(archive.object_id)}</code>，版本 head {_e(archive.head)}，"
            f"副本 copies {_e(', '.join(archive.copies))}；四性检测（BC）未通过项 BC items not passed: "
            f"{items or '无 none'}</p><table><tr><th>代码 code</th><th>副本 copy</th><th>路径 path</th>"
            f"<th>说明 message</th><th>处理 status</th></tr>{''.join(rows)}{_more_row(archive)}</table>")


def render_html(run: AuditRun) -> str:
    counts = run.counts()
    summary = [("仓库 repository", run.repository or "-"), ("运行 run", run.run_id), ("方式 mode", run.mode),
               ("开始 started", run.started.isoformat()),
               ("结束 finished", run.finished.isoformat()), ("结论 verdict", "全部完好 all intact" if run.ok
                                                               else "发现问题 problems found"),
               ("完好 intact", counts["intact"]), ("已修复 repaired", counts["repaired"]), ("失败 failed", counts["failed"]),
               ("文件 files", run.files_checked), ("字节 bytes", run.bytes_checked),
               ("未开始（预算）skipped (budget)", run.skipped),
               ("日志链头 log head", run.log_head.to_dict() if run.log_head else "-")]
    head_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in summary)
    copies = "".join(f"<li>{_e(label)}: <code>{_e(root)}</code>{' — ' + _e(err) if err else ''}</li>"
                     for label, root, err in run.copies)
    issues = "".join(f"<li><code>{_e(i.code)}</code> {_e(i.message)}</li>" for i in run.issues)
    notes = "".join(f"<li>{_e(n)}</li>" for n in run.notes)
    alerts = "".join(f"<li>{_e(a.channel)}: {'成功 ok' if a.ok else '失败 failed'} {_e(a.detail)}</li>"
                     for a in run.alerts)
    details = "".join(_archive_rows(a) for a in run.archives if a.result != "intact")
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>{_e(run.repository or 'hsar')} 审计报告 {_e(run.run_id)}"
            f"</title><style>{_STYLE}</style></head><body><h1>定期检查报告 Audit report</h1>"
            f"<table>{head_rows}</table><h2>副本 Copies</h2><ul>{copies}</ul>"
            + (f"<h2>运行问题 Run issues</h2><ul>{issues}</ul>" if issues else "")
            + (f"<h2>备注 Notes</h2><ul>{notes}</ul>" if notes else "")
            + (f"<h2>告警 Alerts</h2><ul>{alerts}</ul>" if alerts else "")
            + f"<h2>有问题的档案 Archives with problems</h2>{details or '<p>无 none</p>'}"
            + f"<p>其余 {counts['intact']} 件档案完好 / {counts['intact']} archives intact.</p></body></html>\n")


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
