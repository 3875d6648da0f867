"""``hsar serve`` warms in a background thread what the first requests would otherwise pay for: besides the
handles and the statistics census, the disposal page's due list and the verifications of the audit log and the
access register (each seconds at 200,000 archives or 20,000 register entries), so the first look at those
pages reads what the process keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from repository.accounts import register
from repository.services import auditlog, disposal
from repository.web import create_app
from repository.web.warming import warm


def test_the_warm_up_leaves_the_pages_nothing_to_verify_or_judge(web_home: Path, wh, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from repository.web.gateway import accounts

    for kept in (disposal._DUE_SEEN, auditlog._VERIFIED, accounts._VERIFIED):  # noqa: SLF001 - what earlier tests left
        kept.clear()
    app = create_app(web_home, {"TESTING": True, "SECRET_KEY": "test", "HSAR_WARM": False})
    warm(app).join(timeout=120)
    calls: list[str] = []
    real_rows, real_register, real_log = disposal.retention_rows, register.verify_register, auditlog.verify
    monkeypatch.setattr(disposal, "retention_rows", lambda *a, **k: calls.append("due") or real_rows(*a, **k))
    monkeypatch.setattr(register, "verify_register", lambda *a, **k: calls.append("register") or real_register(*a, **k))
    monkeypatch.setattr(auditlog, "verify", lambda *a, **k: calls.append("log") or real_log(*a, **k))
    admin = wh.signed_in(app, "admin")
    for path in ("/disposal", "/audit", "/register"):
        assert admin.get(path).status_code == 200, path
    assert calls == []
