"""repository.fixity: streaming hashes agree with hashlib, read each file once, refuse links and FIFOs."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from repository import fixity

ALL = fixity.SUPPORTED_ALGORITHMS


def _expected(data: bytes, algorithms=ALL) -> dict[str, str]:
    return {a: hashlib.new(a, data).hexdigest() for a in algorithms}


@pytest.mark.parametrize("size", [0, 1, fixity.CHUNK_SIZE - 1, fixity.CHUNK_SIZE, 2 * fixity.CHUNK_SIZE + 17])
def test_hash_file_matches_hashlib_for_every_algorithm(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert fixity.hash_file(path, ALL) == (size, _expected(data))


def test_supported_algorithms_cover_rfc_8493_and_hex_lengths():
    assert {"md5", "sha1", "sha256", "sha512", "sha224", "sha384", "blake2b"} <= set(ALL)
    for name in ALL:
        assert len(hashlib.new(name).hexdigest()) == fixity.HEX_LENGTHS[name]
    assert fixity.WEAK_ALGORITHMS == {"md5", "sha1"}


def test_unknown_algorithm_is_refused(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(fixity.UnsupportedAlgorithm):
        fixity.hash_file(tmp_path / "f", ["sha3_256"])
    with pytest.raises(ValueError):
        fixity.check_algorithms(["SHA256"])
    assert fixity.check_algorithms(["sha256", "sha512", "sha256"]) == ("sha256", "sha512")


def test_file_is_read_once_whatever_the_number_of_algorithms(tmp_path, monkeypatch):
    data = os.urandom(3 * fixity.CHUNK_SIZE + 5)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    reads = []

    class Counting(io.FileIO):
        def readinto(self, buffer):
            n = super().readinto(buffer)
            reads.append(n)
            return n

    monkeypatch.setattr(fixity.os, "fdopen", lambda fd, *a, **k: Counting(fd, "rb"))
    size, digests = fixity.hash_file(path, ["md5", "sha256", "sha512"])
    assert size == len(data) and digests == _expected(data, ["md5", "sha256", "sha512"])
    assert sum(reads) == len(data) and max(reads) <= fixity.CHUNK_SIZE


def test_hash_stream_copies_and_enforces_a_hard_limit():
    data = b"a" * (fixity.CHUNK_SIZE + 10)
    sink = io.BytesIO()
    assert fixity.hash_stream(io.BytesIO(data), ["sha256"], sink=sink) == (len(data), _expected(data, ["sha256"]))
    assert sink.getvalue() == data
    sink = io.BytesIO()
    with pytest.raises(fixity.LimitExceeded) as caught:
        fixity.hash_stream(io.BytesIO(data), ["sha256"], sink=sink, limit=fixity.CHUNK_SIZE)
    assert caught.value.limit == fixity.CHUNK_SIZE
    assert len(sink.getvalue()) <= fixity.CHUNK_SIZE  # nothing past the limit was written


def test_hash_stream_works_without_readinto():
    class ReadOnly:
        def __init__(self, data):
            self._io = io.BytesIO(data)

        def read(self, n):
            return self._io.read(n)

    assert fixity.hash_stream(ReadOnly(b"abc"), ["md5"]) == (3, _expected(b"abc", ["md5"]))


def test_copy_and_hash_copies_once_and_keeps_mtime(tmp_path):
    data = os.urandom(fixity.CHUNK_SIZE + 3)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(data)
    os.utime(src, (1_600_000_000, 1_600_000_000))
    result = fixity.copy_and_hash(src, dst, ["sha256", "sha512"], fsync=True)
    assert result == (len(data), _expected(data, ["sha256", "sha512"]))
    assert dst.read_bytes() == data
    assert int(dst.stat().st_mtime) == 1_600_000_000


def test_copy_and_hash_never_overwrites_and_never_writes_through_a_link(tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"new")
    existing = tmp_path / "existing"
    existing.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        fixity.copy_and_hash(src, existing, ["sha256"])
    assert existing.read_bytes() == b"old"
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "link").symlink_to(victim)
    with pytest.raises(OSError):
        fixity.copy_and_hash(src, tmp_path / "link", ["sha256"])
    assert victim.read_bytes() == b"keep"


def test_symlinks_and_fifos_are_refused_not_followed_or_blocked_on(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(OSError):
        fixity.hash_file(tmp_path / "link", ["sha256"])
    assert fixity.hash_file(tmp_path / "link", ["sha256"], follow_symlinks=True)[0] == 6
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError):
        fixity.hash_file(tmp_path / "fifo", ["sha256"])  # would block forever if opened blocking
    with pytest.raises(OSError):
        fixity.copy_and_hash(tmp_path / "fifo", tmp_path / "copy", ["sha256"])
    assert not (tmp_path / "copy").exists()


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_hash_many_hashes_every_file(tmp_path, workers):
    paths = []
    for i in range(25):
        path = tmp_path / f"f{i}"
        path.write_bytes(os.urandom(i * 1000))
        paths.append(path)
    result = fixity.hash_many(paths, ["sha256", "sha512"], workers=workers)
    assert set(result) == set(paths)
    for path in paths:
        assert result[path] == (path.stat().st_size, _expected(path.read_bytes(), ["sha256", "sha512"]))


def test_hash_many_raises_and_iter_hash_jobs_reports_unreadable_files(tmp_path):
    good = tmp_path / "good"
    good.write_bytes(b"x")
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError):
        fixity.hash_many([good, missing], ["sha256"])
    outcomes = dict(fixity.iter_hash_jobs([(good, ["md5"]), (missing, ["sha512"])], workers=2))
    assert outcomes[good] == (1, _expected(b"x", ["md5"]))
    assert isinstance(outcomes[missing], FileNotFoundError)


def test_hash_many_really_runs_files_side_by_side(tmp_path, monkeypatch):
    barrier = threading.Barrier(2, timeout=10)
    real = fixity.hash_file

    def meet_then_hash(path, algorithms):
        barrier.wait()  # raises BrokenBarrierError unless a second file is being hashed at the same time
        return real(path, algorithms)

    monkeypatch.setattr(fixity, "hash_file", meet_then_hash)
    paths = [tmp_path / "a", tmp_path / "b"]
    for path in paths:
        path.write_bytes(b"x")
    assert set(fixity.hash_many(paths, ["sha256"], workers=2)) == set(paths)
