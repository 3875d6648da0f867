"""Alerts (告警) when an audit finds damage: a configured command and/or SMTP mail (RFC 5322 via smtplib).

``alerts.command`` is split like a shell line (``shlex``, no shell is run) and executed with the run summary
as JSON on standard input and as environment variables (``HSAR_ALERT_SUBJECT``, ``HSAR_AUDIT_OK``,
``HSAR_AUDIT_FAILED``, ``HSAR_AUDIT_REPAIRED``, ``HSAR_AUDIT_REPORT``, ``HSAR_AUDIT_RUN``), e.g.
``/usr/local/bin/notify-ops --channel archive``. ``alerts.smtp_host`` (with ``smtp_port``, ``mail_from``,
``mail_to``) sends a plain-text mail in Chinese and English. A failing alert never raises: each channel's
outcome is returned, and the audit records it in its report.
"""

from __future__ import annotations

import json
import os
import shlex
import smtplib
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from .config import Config

COMMAND_TIMEOUT = 60
SMTP_TIMEOUT = 30


@dataclass(frozen=True)
class AlertOutcome:
    """One alert channel's result: ``ok`` False with ``detail`` when it could not be delivered."""

    channel: str  # command | mail
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "ok": self.ok, "detail": self.detail}


def alert_subject(summary: Mapping[str, Any]) -> str:
    counts = summary.get("counts", {})
    return (f"[{summary.get('repository') or 'hsar'}] 审计发现问题 audit found problems: "
            f"{counts.get('failed', 0)} 失败 failed, "
            f"{counts.get('repaired', 0)} 已修复 repaired ({summary.get('run_id', '?')})")


def alert_body(summary: Mapping[str, Any]) -> str:
    lines = [alert_subject(summary), ""]
    lines.append(f"检查档案 archives checked: {summary.get('archives_checked', 0)}")
    for key, label in (("failed", "未能修复 failed (no good copy left)"), ("repaired", "已修复 repaired")):
        values = summary.get(key) or []
        if values:
            lines.append(f"{label}: {', '.join(values[:100])}" + (" …" if len(values) > 100 else ""))
    for item in summary.get("issues") or []:
        lines.append(f"[{item.get('code')}] {item.get('message')}")
    for path in summary.get("reports") or []:
        lines.append(f"报告 report: {path}")
    lines += ["", json.dumps(summary, ensure_ascii=False, indent=2, default=str)]
    return "\n".join(lines) + "\n"


def _environment(summary: Mapping[str, Any]) -> dict[str, str]:
    reports = summary.get("reports") or []
    return {**os.environ, "HSAR_ALERT_SUBJECT": alert_subject(summary),
            "HSAR_AUDIT_OK": "1" if summary.get("ok") else "0",
            "HSAR_AUDIT_FAILED": str(summary.get("counts", {}).get("failed", 0)),
            "HSAR_AUDIT_REPAIRED": str(summary.get("counts", {}).get("repaired", 0)),
            "HSAR_AUDIT_REPORT": str(reports[0]) if reports else "",
            "HSAR_AUDIT_RUN": str(summary.get("run_id", ""))}


def run_command(command: str, summary: Mapping[str, Any], *, timeout: float = COMMAND_TIMEOUT) -> AlertOutcome:
    """Run ``command`` with the summary on stdin; a non-zero exit, a timeout or a missing program is recorded."""
    try:
        argv = shlex.split(command)
        if not argv:
            return AlertOutcome("command", False, "empty command")
        done = subprocess.run(argv, input=json.dumps(summary, ensure_ascii=False, default=str).encode("utf-8"),
                              env=_environment(summary), capture_output=True, timeout=timeout, check=False)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return AlertOutcome("command", False, f"{type(exc).__name__}: {exc}")
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-500:]
        return AlertOutcome("command", False, f"exit status {done.returncode}: {tail}")
    return AlertOutcome("command", True, f"{argv[0]} exit status 0")


def send_mail(host: str, port: int, sender: str, recipients: list[str], subject: str, body: str, *,
              timeout: float = SMTP_TIMEOUT) -> AlertOutcome:
    """Send one plain-text UTF-8 mail; any SMTP or network error is recorded, not raised."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return AlertOutcome("mail", False, f"{type(exc).__name__}: {exc}")
    if refused:
        return AlertOutcome("mail", False, f"refused recipients: {', '.join(refused)}")
    return AlertOutcome("mail", True, f"sent to {', '.join(recipients)} via {host}:{port}")


def send_alerts(cfg: Config, summary: Mapping[str, Any]) -> tuple[AlertOutcome, ...]:
    """Every configured channel, in order: command, then mail. Nothing configured: nothing sent."""
    outcomes = []
    if str(cfg["alerts.command"]).strip():
        outcomes.append(run_command(str(cfg["alerts.command"]), summary))
    host = str(cfg["alerts.smtp_host"]).strip()
    if host:
        recipients = [str(r) for r in cfg["alerts.mail_to"]]
        sender = str(cfg["alerts.mail_from"]) or "hsar@localhost"
        if not recipients:
            outcomes.append(AlertOutcome("mail", False, "alerts.mail_to is empty"))
        else:
            outcomes.append(send_mail(host, int(cfg["alerts.smtp_port"]), sender, recipients,
                                      alert_subject(summary), alert_body(summary)))
    return tuple(outcomes)
