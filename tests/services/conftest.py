"""Fixtures for the service tests: the ingest tests' demo SIPs and homes (tests/ingest/conftest.py), loaded
under a name of their own, plus a home holding one archive whose ingest stopped half-way.

A half-finished ingest is made in-process, deterministically: the pipeline step that records the archive
(catalogue, then index) or only the index is replaced by one that raises, as a ``kill -9`` at that point
would leave it (tests/ingest/test_crash.py kills real processes at every step).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("hsar_ingest_fixtures", Path(__file__).parents[1] / "ingest" / "conftest.py")
assert _spec is not None and _spec.loader is not None
fixtures = importlib.util.module_from_spec(_spec)
sys.modules["hsar_ingest_fixtures"] = fixtures
_spec.loader.exec_module(fixtures)

demo = fixtures.demo
home_template = fixtures.home_template
home = fixtures.home
repo = fixtures.repo
ingested_home = fixtures.ingested_home
ih = fixtures.ih


class Killed(BaseException):
    """Stands for a kill: not an Exception, so nothing on the way handles it."""


def half_ingest(home: Path, sip: Path, step: str) -> None:
    """Ingest ``sip`` into ``home``, stopping at ``step``: "catalogue" (stored, neither catalogued nor
    indexed) or "index" (stored and catalogued, not indexed)."""
    from repository.home import Repository
    from repository.ingest import pipeline

    patch = pytest.MonkeyPatch()
    name = "_record" if step == "catalogue" else "_index"

    def die(*_args: object, **_kwargs: object) -> None:
        raise Killed(step)

    patch.setattr(pipeline, name, die)
    try:
        with Repository.open(home) as opened, pytest.raises(Killed):
            pipeline.ingest(opened, [sip])
    finally:
        patch.undo()
