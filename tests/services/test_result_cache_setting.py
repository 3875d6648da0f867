"""``search.result_cache`` sets how many answers the home's Tantivy engine keeps per process; 0 keeps none."""

from __future__ import annotations

from pathlib import Path

import pytest

from repository.home import Repository
from repository.search import SearchRequest


@pytest.mark.parametrize(("setting", "kept"), [(None, 256), ("0", 0), ("3", 3)])
def test_the_setting_sizes_the_engines_result_cache(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                   setting: str | None, kept: int) -> None:
    if setting is not None:
        monkeypatch.setenv("HSAR_SEARCH_RESULT_CACHE", setting)
    with Repository.open(home) as repo:
        engine = repo.search
        assert engine.results.entries == kept  # type: ignore[attr-defined]
        for _ in range(2):
            engine.search(SearchRequest("幸福家园"))
        cache = engine.results  # type: ignore[attr-defined]
        assert (cache.hits > 0) == (kept > 0)  # the repeat answered from the cache only when one is kept
