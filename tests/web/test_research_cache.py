"""A researcher's copy removed from the cache (``cache.research_max_mb``: least recently used first) is made
again when it is next asked for, also when it goes between the request's lookup and the sending of its bytes:
never an error page (repository/web/views/archives.py, repository/dip/research.py)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from repository.accounts.tokens import create_token
from repository.config import load as load_config
from repository.dip.people import people
from repository.home import Repository
from repository.state.db import open_state
from repository.web.gateway import archives as gateway

from .test_research_copies import _tenants, _unit


def _is_copy(response: Any) -> bool:  # noqa: ANN401 - a test response
    """A researcher's copy: a PDF of page images only (no text layer)."""
    return (response.status_code == 200 and response.mimetype == "application/pdf"
            and all(p.extract_text() == "" for p in PdfReader(io.BytesIO(response.get_data())).pages))


def _copy_file(home: Path, view: Any, path: str) -> Path:  # noqa: ANN401 - an ArchiveView
    """Where the researcher's copy of ``path`` is kept (by its bytes and the names it is masked with)."""
    found = next(f for f in view.files if f.path == path)
    with Repository.open(home) as repo:
        key = repo.research_copies.key(found.sha512, people(repo, view))
        return repo.paths.research_cache / f"{key}.pdf"


def test_a_copy_the_bound_removed_is_made_again_on_the_next_view(login, archives, web_home) -> None:
    view = _unit(archives)
    path = _tenants(view)
    client = login("reader")
    url = f"/archives/{view.identifier}/files/{path}"
    assert _is_copy(client.get(url))
    made = _copy_file(web_home, view, path)
    hour_ago = time.time() - 3600
    os.utime(made, (hour_ago, hour_ago))  # not used for an hour: the first to go
    with Repository.open(web_home) as repo:
        assert repo.research_copies.prune(1).removed >= 1
    assert not made.exists()
    assert _is_copy(client.get(url))
    assert made.is_file() and made.stat().st_mtime > hour_ago  # made again


def test_a_copy_removed_after_the_lookup_is_made_in_the_request(login, archives, web_home, monkeypatch) -> None:
    """The lookup (pending_copy) finds the copy kept; it is gone before it is read: the request makes it."""
    view = _unit(archives)
    path = _tenants(view)
    client = login("reader")
    url = f"/archives/{view.identifier}/files/{path}"
    assert _is_copy(client.get(url))  # kept now
    made = _copy_file(web_home, view, path)
    looked_up = gateway.pending_copy
    removed: list[bool] = []

    def then_removed(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        found = looked_up(*args, **kwargs)
        assert found is None  # kept: no job
        made.unlink()  # a pass of the cache's bound, right after the lookup
        removed.append(True)
        return found

    monkeypatch.setattr(gateway, "pending_copy", then_removed)
    assert _is_copy(client.get(url))
    assert removed == [True] and made.is_file()


def test_a_copy_removed_before_its_bytes_are_sent_is_made_again(login, archives, web_home, monkeypatch) -> None:
    """The copy is found (or made) and gone before the file route opens it: made again and sent, in the viewer's
    frame and as a download."""
    view = _unit(archives)
    path = _tenants(view)
    client = login("reader")
    url = f"/archives/{view.identifier}/files/{path}"
    document = gateway.document
    calls: list[Path] = []

    def then_removed(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        doc = document(*args, **kwargs)
        if not calls:
            doc.file.unlink()  # a pass of the cache's bound, between the lookup and the sending
        calls.append(doc.file)
        return doc

    monkeypatch.setattr(gateway, "document", then_removed)
    for asked in (url, f"{url}?download=1"):
        calls.clear()
        assert _is_copy(client.get(asked))
        assert len(calls) == 2 and calls[1].is_file()
    with open_state(load_config(web_home).state_url) as state:  # the API's download too
        token = create_token(state, "reader", "cache-race")[1]
    calls.clear()
    api = client.application.test_client().get(f"/api/v1{url}", query_string={"purpose": "study"},
                                                headers={"Authorization": f"Bearer {token}"})
    assert _is_copy(api) and len(calls) == 2 and calls[1].is_file()
