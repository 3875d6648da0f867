"""repository.fixity: streaming hashes agree with hashlib, read each file once, refuse links and FIFOs."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

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
    real_readv = os.readv

    def counting(fd, buffers):
        n = real_readv(fd, buffers)
        reads.append(n)
        return n

    monkeypatch.setattr(fixity.os, "readv", counting)
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


def test_small_files_with_known_sizes_travel_in_bounded_batches():
    jobs = [(Path(f"s{i}"), ("sha512",), 1000) for i in range(fixity.BATCH_FILES + 3)]
    jobs.insert(5, (Path("big"), ("sha512",), fixity.BATCH_BYTES))
    jobs.insert(9, (Path("unknown"), ("sha512",), None))
    batches = list(fixity._batches(iter(jobs)))
    names = [[p.name for p, _ in b] for b, _size in batches]
    assert names[:4] == [["s0", "s1", "s2", "s3", "s4"], ["big"], ["s5", "s6", "s7"], ["unknown"]]
    assert names[4:] == [[f"s{i}" for i in range(8, fixity.BATCH_FILES + 3)]]
    assert [p.name for b, _size in batches for p, _ in b] == [j[0].name for j in jobs]  # every job once, in order
    # each task carries its hinted bytes; a file without a hint counts as a full batch
    assert [size for _b, size in batches] == [5000, fixity.BATCH_BYTES, 3000, fixity.BATCH_BYTES,
                                              1000 * (fixity.BATCH_FILES - 5)]
    by_bytes = list(fixity._batches(iter([(Path(f"m{i}"), ("sha512",), fixity.BATCH_BYTES // 3 + 1) for i in range(7)])))
    assert [len(b) for b, _size in by_bytes] == [3, 3, 1]  # a batch stops once it holds BATCH_BYTES
    by_count = list(fixity._batches(iter([(Path(f"t{i}"), ("sha512",), 1) for i in range(2 * fixity.BATCH_FILES + 6)])))
    assert [len(b) for b, _size in by_count] == [fixity.BATCH_FILES, fixity.BATCH_FILES, 6]


@pytest.mark.parametrize("workers", [1, 2])
def test_size_hints_change_nothing_but_the_batching(tmp_path, workers):
    jobs, expected = [], {}
    for i in range(80):
        path = tmp_path / f"f{i}"
        data = os.urandom((i * 7919) % 200_000)
        path.write_bytes(data)
        hint = None if i % 11 == 0 else len(data) + (5 if i % 7 == 0 else 0)  # a wrong hint is only a hint
        jobs.append((path, ["sha256"], hint))
        expected[path] = (len(data), _expected(data, ["sha256"]))
    missing = tmp_path / "missing"
    jobs.insert(40, (missing, ["sha256"], 10))
    outcomes = dict(fixity.iter_hash_jobs(jobs, workers=workers))
    assert isinstance(outcomes.pop(missing), FileNotFoundError)
    assert outcomes == expected


def test_stopping_early_leaves_no_thread_behind(tmp_path):
    for i in range(200):
        (tmp_path / f"f{i}").write_bytes(b"x" * i)
    before = threading.active_count()
    results = fixity.iter_hash_jobs(((tmp_path / f"f{i}", ["sha256"], i) for i in range(200)), workers=2)
    next(results)
    results.close()
    assert threading.active_count() == before
