"""Objects written the way hsar wrote them before per-version PREMIS documents: every version holds one
cumulative ``metadata/premis.xml`` (every object of its state, every event so far, the agents) and no
``metadata/premis/vN.xml``. :func:`cumulative_build_version` is today's ``build_version`` with its PREMIS turned
into that form (the same objects, events and agents, the version locked again), for tests of old homes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from repository.ingest import aip
from repository.preservation.aip_layout import (
    PREMIS_CUMULATIVE,
    SIGNATURE_DIR,
    SIGNATURE_FILE,
    SIGNATURE_MANIFEST,
    is_premis,
    premis_path,
)
from repository.preservation.ocfl import SourceFile
from repository.preservation.premis import merge_by_identifier, render_premis, standard_agents
from repository.preservation.premis_read import parse_premis
from repository.preservation.signing import lock_version


def cumulative_build_version(prepared, merged, previous, *, version, now, institution, signer):  # noqa: ANN001, ANN201
    built = aip.build_version(prepared, merged, previous, version=version, now=now, institution=institution,
                              signer=signer)
    files = {p: f for p, f in built.files.items() if not p.startswith(SIGNATURE_DIR)}
    own = files.pop(premis_path(version))
    for path in [p for p in files if is_premis(p)]:
        del files[path]
    old = (previous.content[PREMIS_CUMULATIVE].read_bytes()
           if previous is not None and PREMIS_CUMULATIVE in previous.state else None)
    old_objects, old_events, old_agents = parse_premis(old) if old else ([], [], [])
    new_objects, new_events, _ = parse_premis(own.path.read_bytes())
    latest = {o.identifier: o for o in [*old_objects, *new_objects]}
    data = render_premis([latest[p] for p in sorted(files)], old_events + new_events,
                         merge_by_identifier(old_agents, standard_agents(institution)))
    files[PREMIS_CUMULATIVE] = _write(prepared.workdir, PREMIS_CUMULATIVE, data)
    manifest, p7s = lock_version({p: f.sha512 for p, f in files.items()}, signer, signing_time=now)
    files[SIGNATURE_MANIFEST] = _write(prepared.workdir, SIGNATURE_MANIFEST, manifest)
    files[SIGNATURE_FILE] = _write(prepared.workdir, SIGNATURE_FILE, p7s)
    return aip.BuiltVersion(files)


def _write(workdir, logical: str, data: bytes) -> SourceFile:  # noqa: ANN001
    target = workdir / "legacy" / logical
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return SourceFile(target, hashlib.sha512(data).hexdigest(), len(data))


@contextmanager
def cumulative_premis(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ingest inside writes versions the old way."""
    with monkeypatch.context() as m:
        m.setattr("repository.ingest.pipeline.build_version", cumulative_build_version)
        m.setattr("repository.ingest.ahead.build_version", cumulative_build_version)
        yield
