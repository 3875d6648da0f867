"""Use-case: create (or complete) a repository home (``hsar init``); see :mod:`repository.home.init`."""

from __future__ import annotations

from pathlib import Path

from ..home import InitResult, init_home


def init(home: Path, *, force: bool = False) -> InitResult:
    """Create the home's settings, storage root, catalogue, folders and demo PKI; existing files are kept
    unless ``force`` (refused with UsageError INIT-FORCE once the store holds an archive)."""
    return init_home(home, force=force)
