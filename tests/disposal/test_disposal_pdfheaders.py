"""Disposal drops the archive's kept PDF verdicts (``cache/texts/pdf-headers/``) too; other archives keep theirs."""

from __future__ import annotations

from repository.preservation.ids import object_id
from repository.search import pdfheaders
from repository.search.pdfheaders import PdfHeaders

from .test_disposal import _dispose


def test_disposal_drops_the_archives_pdf_verdicts(repo, plan, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(pdfheaders, "KEPT_FROM", 1)
    for archive in (plan.leaving, plan.staying):
        oid = object_id(archive)
        payload = {p: d for p, d in repo.store.state(oid).items() if p.startswith("data/")}
        headers = PdfHeaders(oid)
        for digest in payload.values():
            headers.learn(digest, False)
        assert headers.keep(repo.text_cache, payload.values())
        assert PdfHeaders.load(repo.text_cache, oid).verdicts
    _dispose(repo, plan.leaving)
    assert PdfHeaders.load(repo.text_cache, object_id(plan.leaving)).verdicts == {}
    assert PdfHeaders.load(repo.text_cache, object_id(plan.staying)).verdicts
