"""Alerts (告警): when an audit finds damage, and when an account name is locked after repeated failed sign-ins
(:func:`lock_alert`, sent by a ``lock-alert`` job). Two channels, one implementation (:func:`deliver`): a
configured command and/or SMTP mail (RFC 5322 via smtplib).

``alerts.command`` is split like a shell line (``shlex``, no shell is run) and executed with the alert's data
as JSON on standard input and as environment variables: ``HSAR_ALERT_SUBJECT`` and ``HSAR_ALERT_KIND``
(``audit`` or ``account-locked``), and for an audit ``HSAR_AUDIT_OK``, ``HSAR_AUDIT_FAILED``,
``HSAR_AUDIT_REPAIRED``, ``HSAR_AUDIT_REPORT``, ``HSAR_AUDIT_RUN``; for a lock ``HSAR_LOCKED_USER``,
``HSAR_LOCKED_FAILURES``, ``HSAR_LOCKED_UNTIL``, ``HSAR_LOCKED_ADDRESS``. E.g.
``/usr/local/bin/notify-ops --channel archive``. ``alerts.smtp_host`` (with ``smtp_port``, ``mail_from``,
``mail_to``) sends a plain-text mail in the language of ``repository.language`` (with ``both``, the whole
mail in Chinese and then in English; the subject in Chinese). Texts come from the catalogue (``audit.alert.*``,
``accounts.lock_alert.*``). A failing alert never raises: each channel's outcome is returned (the audit records
it in its report, the lock-alert job in its result).

The command runs in its own session (process group) with temporary files, not pipes, for its output: only
the command itself is waited for, at most ``COMMAND_TIMEOUT`` seconds, and then nothing of its process group
is left running (a timed-out command and anything it started in the background are killed). A stop event
(the scheduler or the worker shutting down) kills a running command at once.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from ..config import Config
from ..messages import LANGS, langs_for, local_stamp, text

COMMAND_TIMEOUT = 60
SMTP_TIMEOUT = 30
POLL_SECONDS = 0.05  # longest step between two looks at a running alert command (and at the stop event)
OUTPUT_TAIL = 500  # characters of a failed command's output kept in its outcome


@dataclass(frozen=True)
class AlertOutcome:
    """One alert channel's result: ``ok`` False with ``detail`` when it could not be delivered."""

    channel: str  # command | mail
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Alert:
    """What the channels send: the subject (in the first language), the mail's text, the data the command reads
    as JSON on its standard input, and its environment variables beyond the process's own."""

    subject: str
    body: str
    data: Mapping[str, Any]
    environment: Mapping[str, str]


def alert_subject(summary: Mapping[str, Any], lang: str = LANGS[0]) -> str:
    counts = summary.get("counts", {})
    return text("audit.alert.subject", lang, repository=summary.get("repository") or "hsar",
                failed=counts.get("failed", 0), repaired=counts.get("repaired", 0), run=summary.get("run_id", "?"))


def _issue_text(item: Mapping[str, Any], lang: str) -> str:
    messages = item.get("messages")
    if isinstance(messages, Mapping) and isinstance(messages.get(lang), str):
        return str(messages[lang])
    return str(item.get("message"))


def _body_in(summary: Mapping[str, Any], lang: str) -> list[str]:
    lines = [alert_subject(summary, lang), "",
             text("audit.alert.checked", lang, count=summary.get("archives_checked", 0))]
    for key in ("failed", "repaired"):
        values = summary.get(key) or []
        if values:
            lines.append(f"{text('audit.alert.' + key, lang)}: {', '.join(values[:100])}"
                         + (" …" if len(values) > 100 else ""))
    for item in summary.get("issues") or []:
        lines.append(f"[{item.get('code')}] {_issue_text(item, lang)}")
    for path in summary.get("reports") or []:
        lines.append(text("audit.alert.report", lang, path=path))
    return lines


def alert_body(summary: Mapping[str, Any], langs: tuple[str, ...] = LANGS) -> str:
    """The mail's text: the summary in each of ``langs`` (each part in one language), then the JSON."""
    lines: list[str] = []
    for lang in langs:
        lines += [*_body_in(summary, lang), ""]
    lines += [json.dumps(summary, ensure_ascii=False, indent=2, default=str)]
    return "\n".join(lines) + "\n"


def audit_alert(summary: Mapping[str, Any], langs: tuple[str, ...] = LANGS) -> Alert:
    """The alert of an audit run's ``summary`` (:meth:`repository.audit.result.AuditRun.summary`)."""
    return Alert(alert_subject(summary, langs[0]), alert_body(summary, langs), summary, _environment(summary, langs[0]))


def _environment(summary: Mapping[str, Any], lang: str) -> dict[str, str]:
    reports = summary.get("reports") or []
    return {"HSAR_ALERT_SUBJECT": alert_subject(summary, lang), "HSAR_ALERT_KIND": "audit",
            "HSAR_AUDIT_OK": "1" if summary.get("ok") else "0",
            "HSAR_AUDIT_FAILED": str(summary.get("counts", {}).get("failed", 0)),
            "HSAR_AUDIT_REPAIRED": str(summary.get("counts", {}).get("repaired", 0)),
            "HSAR_AUDIT_REPORT": str(reports[0]) if reports else "",
            "HSAR_AUDIT_RUN": str(summary.get("run_id", ""))}


def _tail(handle: IO[bytes], limit: int = OUTPUT_TAIL) -> str:
    """The last ``limit`` characters a command wrote to ``handle`` (a temporary file), decoded leniently."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - 4 * limit))
    return handle.read().decode("utf-8", "replace").strip()[-limit:]


def _exited(pid: int) -> bool:
    """Whether the child ``pid`` has exited, without reaping it: while it is a zombie its pid, and so its
    process group's id, cannot be reused, and the group can still be killed safely."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped elsewhere
        return True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_command(command: str, summary: Mapping[str, Any], *, timeout: float | None = None,
                stop: threading.Event | None = None, lang: str = LANGS[0]) -> AlertOutcome:
    """Run ``command`` with an audit's summary on stdin (:func:`command_alert` of its :func:`audit_alert`)."""
    return command_alert(command, audit_alert(summary, (lang,)), timeout=timeout, stop=stop)


def command_alert(command: str, alert: Alert, *, timeout: float | None = None,
                  stop: threading.Event | None = None) -> AlertOutcome:
    """Run ``command`` with the alert's data on stdin; a non-zero exit, a timeout or a missing program is recorded.

    The command runs in a session (process group) of its own, its stdin, stdout and stderr are temporary
    files, and only the command itself is waited for: a background process it leaves behind cannot hold the
    run. On a timeout, or as soon as ``stop`` is set (the scheduler shutting down), the whole group is killed;
    when the command exits, whatever it left running in its group is killed too. Nothing is left behind.
    ``timeout`` defaults to ``COMMAND_TIMEOUT`` seconds.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return AlertOutcome("command", False, f"ValueError: {exc}")
    if not argv:
        return AlertOutcome("command", False, "empty command")
    if stop is not None and stop.is_set():
        return AlertOutcome("command", False, "stopped: hsar is shutting down, not run")
    try:
        with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, \
                tempfile.TemporaryFile() as stderr:
            stdin.write(json.dumps(alert.data, ensure_ascii=False, default=str).encode("utf-8"))
            stdin.seek(0)
            process = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr,
                                       env={**os.environ, **alert.environment}, start_new_session=True)
            ended = _wait(process, argv, COMMAND_TIMEOUT if timeout is None else timeout, stop)
            tail = _tail(stderr) or _tail(stdout)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return AlertOutcome("command", False, f"{type(exc).__name__}: {exc}")
    if ended:
        return AlertOutcome("command", False, f"{ended}: {tail}" if tail else ended)
    if process.returncode != 0:
        return AlertOutcome("command", False, f"exit status {process.returncode}: {tail}")
    return AlertOutcome("command", True, f"{argv[0]} exit status 0")


def _wait(process: subprocess.Popen[bytes], argv: list[str], timeout: float, stop: threading.Event | None) -> str:
    """Wait for the command itself (not what it left in the background), in short steps so ``stop`` is seen
    at once; then kill its whole process group and reap it. Returns why it was cut short ("" if it exited)."""
    started, delay, ended = time.monotonic(), 0.001, ""
    try:
        while not _exited(process.pid):
            waited = time.monotonic() - started
            if stop is not None and stop.is_set():
                ended = f"stopped: hsar is shutting down, killed after {waited:.1f} s"
                break
            if waited >= timeout:
                ended = f"TimeoutExpired: {subprocess.TimeoutExpired(argv, timeout)}"
                break
            step = min(delay, timeout - waited)
            if stop is not None:
                stop.wait(step)
            else:
                time.sleep(step)
            delay = min(delay * 2, POLL_SECONDS)
    finally:
        _kill_group(process.pid)  # the group's id is the command's pid, not reaped yet: it cannot be reused
        process.wait()
    return ended


def send_mail(host: str, port: int, sender: str, recipients: list[str], subject: str, body: str, *,
              timeout: float = SMTP_TIMEOUT) -> AlertOutcome:
    """Send one plain-text UTF-8 mail; any SMTP or network error is recorded, not raised."""
    import smtplib  # here: every audit loads this module, few send mail
    from email.message import EmailMessage

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


def send_alerts(cfg: Config, summary: Mapping[str, Any], *, stop: threading.Event | None = None,
                command_timeout: float | None = None) -> tuple[AlertOutcome, ...]:
    """An audit's alert (:func:`audit_alert`) through every configured channel (:func:`deliver`)."""
    return deliver(cfg, audit_alert(summary, langs_for(cfg["repository.language"])), stop=stop,
                   command_timeout=command_timeout)


def configured(cfg: Config) -> bool:
    """Whether any channel is configured (a command, or an SMTP host)."""
    return bool(str(cfg["alerts.command"]).strip() or str(cfg["alerts.smtp_host"]).strip())


def deliver(cfg: Config, alert: Alert, *, stop: threading.Event | None = None,
            command_timeout: float | None = None) -> tuple[AlertOutcome, ...]:
    """Every configured channel, in order: command, then mail. Nothing configured: nothing sent.

    ``stop`` set (the scheduler or the worker shutting down) kills a running alert command at once; it is
    recorded as not delivered."""
    outcomes = []
    if str(cfg["alerts.command"]).strip():
        outcomes.append(command_alert(str(cfg["alerts.command"]), alert, timeout=command_timeout, stop=stop))
    host = str(cfg["alerts.smtp_host"]).strip()
    if host:
        recipients = [str(r) for r in cfg["alerts.mail_to"]]
        sender = str(cfg["alerts.mail_from"]) or "hsar@localhost"
        if not recipients:
            outcomes.append(AlertOutcome("mail", False, "alerts.mail_to is empty"))
        else:
            outcomes.append(send_mail(host, int(cfg["alerts.smtp_port"]), sender, recipients, alert.subject,
                                      alert.body))
    return tuple(outcomes)


# ------------------------------------------------------------------------------------------ account locks


def _lock_lines(lock: Mapping[str, Any], lang: str) -> list[str]:
    until = local_stamp(str(lock.get("locked_until") or ""))
    return [text("accounts.lock_alert.subject", lang, repository=lock.get("repository") or "hsar",
                 username=lock.get("username", "")), "",
            text("accounts.lock_alert.body", lang, username=lock.get("username", ""),
                 failures=lock.get("failures", 0), until=until, address=lock.get("address") or "-")]


def lock_alert(lock: Mapping[str, Any], langs: tuple[str, ...] = LANGS) -> Alert:
    """The alert of an account name just locked: ``lock`` names the repository, the ``username``, the number
    of ``failures`` that locked it, when the lock ends (``locked_until``, ISO 8601) and the last failure's
    ``address`` (never a password: the sign-in keeps none)."""
    data = {"event": "account-locked", **lock}
    body = "\n".join(line for lang in langs for line in [*_lock_lines(lock, lang), ""])
    body += json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
    subject = _lock_lines(lock, langs[0])[0]
    return Alert(subject, body, data, {
        "HSAR_ALERT_SUBJECT": subject, "HSAR_ALERT_KIND": "account-locked",
        "HSAR_LOCKED_USER": str(lock.get("username", "")), "HSAR_LOCKED_FAILURES": str(lock.get("failures", 0)),
        "HSAR_LOCKED_UNTIL": str(lock.get("locked_until", "")), "HSAR_LOCKED_ADDRESS": str(lock.get("address", ""))})
