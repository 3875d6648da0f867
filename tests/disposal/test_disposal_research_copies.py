"""Disposal drops the researchers' copies of the archive's PDFs (``cache/research/``): they carry its content,
painted over or not, and must not outlive it; other archives' copies stay."""

from __future__ import annotations

from repository.services.research import research_copy

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
