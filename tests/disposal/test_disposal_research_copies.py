"""Disposal drops the researchers' copies of the archive's PDFs and scans (``cache/research/``: a scan's proposed
and approved pages too): they carry its content, painted over or not, and must not outlive it; other archives'
copies stay. The reviews of its scans are marked disposed."""

from __future__ import annotations

import shutil

import pytest

from repository.accounts import scanreviews
from repository.accounts.securitylog import SYSTEM
from repository.services.research import research_copy
from repository.state.db import open_state

from .test_disposal import _dispose


def _copy_of(repo, archive_id):  # noqa: ANN001, ANN202
    view = repo.catalog.show(archive_id)
    pdf = next(f.path for f in view.files if f.path.endswith(".pdf"))
    return research_copy(repo, view, pdf)


def test_disposal_drops_the_researchers_copies_of_the_removed_files(repo, plan):  # noqa: ANN001, ANN201
    leaving, staying = _copy_of(repo, plan.leaving), _copy_of(repo, plan.staying)
    assert leaving.is_file() and staying.is_file() and leaving.parent == repo.paths.research_cache
    _dispose(repo, plan.leaving)
    assert not leaving.exists() and staying.is_file()


def _proposed(repo, state, archive_id):  # noqa: ANN001, ANN202
    """The proposal for the archive's housing proof (a scan that prints the head's resident ID): one OCR run."""
    from repository.dip.scans import propose

    view = repo.catalog.show(archive_id)
    return propose(repo, state, view, next(f.path for f in view.files if f.path.endswith("住房证明.tif")))


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_disposal_drops_the_scans_proposed_and_approved_copies_and_marks_their_reviews(repo, plan):  # noqa: ANN001, ANN201
    from repository.dip.scans import approved_copy, proposal_pages

    with open_state(repo.cfg.state_url) as state:
        leaving, staying = _proposed(repo, state, plan.leaving), _proposed(repo, state, plan.staying)
        leaving = scanreviews.decide(state, leaving.id, True, leaving.proposed_boxes, SYSTEM)
    made = approved_copy(repo, leaving)
    kept = proposal_pages(repo, staying)
    files = [p for p in repo.paths.research_cache.iterdir() if p.name.startswith(leaving.sha512)]
    assert made.pdf in files and set(made.pages) <= set(files) and len(files) == 2 * leaving.pages + 1
    _dispose(repo, plan.leaving)
    assert not any(p.name.startswith(leaving.sha512) for p in repo.paths.research_cache.iterdir())
    assert all(p.is_file() for p in kept)  # another archive's scan keeps its proposal
    with open_state(repo.cfg.state_url) as state:
        assert scanreviews.get(state, leaving.id).state == "disposed"
        assert scanreviews.get(state, staying.id).state == "pending"



def test_a_copy_made_while_its_archive_is_disposed_of_does_not_outlive_it(repo, plan, monkeypatch):  # noqa: ANN001, ANN201
    """A copy started before a disposal and written after the disposal dropped the copies (no lock is held while
    a copy is made): the maker finds the archive gone from the catalogue, removes what it wrote and answers
    NOT-FOUND (the web: 404)."""
    from repository.dip.research import CopyGone

    view = repo.catalog.show(plan.leaving)
    pdf = next(f for f in view.files if f.path.endswith(".pdf"))
    from repository.formats.research_copies import ResearchCopies

    make = ResearchCopies.copy_of

    def written_after_the_disposal(copies, source, sha512, people):  # noqa: ANN001, ANN202
        made = make(copies, source, sha512, people)
        data = made.read_bytes()
        _dispose(repo, plan.leaving)  # it drops the copies there are ...
        assert not made.exists() and not repo.catalog.divisions_of([plan.leaving], disposed=False)
        made.write_bytes(data)  # ... and only then is this one written
        return made

    monkeypatch.setattr(ResearchCopies, "copy_of", written_after_the_disposal)
    with pytest.raises(CopyGone) as gone:
        research_copy(repo, view, pdf.path)
    assert gone.value.code == "NOT-FOUND"
    assert not any(p.name.startswith(pdf.sha512) for p in repo.paths.research_cache.iterdir())
