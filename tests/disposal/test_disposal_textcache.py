"""Disposal removes the archive's texts from the home's text cache too (``cache/texts/``), not only from the
store, the replicas and the index: the extracted text of a disposed PDF must not outlive it."""

from __future__ import annotations

from repository.preservation.ids import object_id

from .test_disposal import _dispose


def test_disposal_drops_the_cached_texts_of_the_removed_files(repo, plan):  # noqa: ANN001, ANN201
    oid = object_id(plan.leaving)
    digests = set(repo.store.inventory(oid)["manifest"])
    cache = repo.paths.text_cache

    def cached() -> set[str]:
        return {p.name.removesuffix(".json") for p in cache.rglob("*.json")}

    mine, others = cached() & digests, cached() - digests
    assert mine  # ingest kept the texts of the archive's PDFs
    _dispose(repo, plan.leaving)
    assert cached() & digests == set() and cached() == others  # the other archives' entries stay
