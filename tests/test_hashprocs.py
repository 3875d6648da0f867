"""Hash worker processes (repository.hashprocs, repository.hashcore): the same outcomes as threads, the
hashing done in the workers, and a worker that dies (killed, or ending mid-task) or answers nonsense costs nothing
but a re-read here."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from repository import fixity, hashcore, hashprocs

ALGS = ("sha512", "md5")


def _digests(data: bytes, algorithms=ALGS) -> dict[str, str]:
    return {a: hashlib.new(a, data).hexdigest() for a in algorithms}


def _describe(outcome):
    """Comparable form of an outcome: a digest pair, or the error's type, errno and message."""
    if isinstance(outcome, OSError):
        return type(outcome).__name__, outcome.errno, outcome.strerror
    return outcome


def _files(tmp_path: Path, names: list[str], size: int = 300_000) -> list[Path]:
    paths = []
    for name in names:
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


@pytest.fixture
def odd_files(tmp_path) -> list[tuple[Path, tuple[str, ...], int | None]]:
    """Files of every awkward kind: empty, around the read buffer's size, large, undecodable and newline
    names, a link, a FIFO, a folder and a missing name."""
    sizes = {"empty": 0, "one": 1, "below-chunk": hashcore.CHUNK_SIZE - 1, "chunk": hashcore.CHUNK_SIZE,
             "large": 3 * hashcore.CHUNK_SIZE + 17}
    jobs = []
    for name, size in sizes.items():
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        jobs.append((path, ALGS, size))
    weird = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9\nname"))  # not UTF-8, and a newline
    weird.write_bytes(b"weird")
    (tmp_path / "link").symlink_to(tmp_path / "one")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    jobs += [(weird, ALGS, 5), (tmp_path / "link", ALGS, 1), (tmp_path / "fifo", ALGS, 0),
             (tmp_path / "folder", ALGS, None), (tmp_path / "missing", ALGS, 10)]
    return jobs


def test_processes_give_the_same_outcomes_as_threads(odd_files, monkeypatch):
    monkeypatch.setattr(fixity, "PROCESS_MIN_BYTES", 0)
    started = []
    real_start = hashprocs.ProcessPool.start
    monkeypatch.setattr(hashprocs.ProcessPool, "start", lambda pool: started.append(pool) or real_start(pool))
    by_process = {p: _describe(o) for p, o in fixity.iter_hash_jobs(odd_files, 2, processes=True)}
    by_thread = {p: _describe(o) for p, o in fixity.iter_hash_jobs(odd_files, 2)}
    assert len(started) == 1 and by_process == by_thread and len(by_process) == len(odd_files)
    assert started[0].deaths == []  # a refused link or FIFO is an answer, not a worker's end
    for path, _algs, _size in odd_files[:6]:  # the regular files: real digests
        assert by_process[path] == (path.stat().st_size, _digests(path.read_bytes()))
    assert by_process[odd_files[6][0]][1] == 40 or by_process[odd_files[6][0]][2].startswith("refusing")
    assert by_process[odd_files[7][0]][:2] == ("OSError", 22)  # FIFO: refused, not blocked on
    assert by_process[odd_files[9][0]][0] == "FileNotFoundError"


# Each file a worker hashes is listed in "<file>.by" with the worker's process id.
MARKING_BOOT = """
import os, sys
sys.path.insert(0, sys.argv[1])
from repository import hashcore
real = hashcore.hash_path
def hash_path(path, algorithms, **options):
    with open(os.fsdecode(path) + ".by", "a") as marks:
        marks.write(f"{os.getpid()}\\n")
    return real(path, algorithms, **options)
hashcore.hash_path = hash_path
hashcore.serve()
"""


def test_workers_are_other_processes_that_hash_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(hashprocs, "_BOOT", MARKING_BOOT)
    large, small = _files(tmp_path, ["large"], (5 << 20) // 2)[0], _files(tmp_path, ["small"], 1000)[0]
    pool = hashprocs.ProcessPool(2).start()
    pids = pool.pids()
    assert len(pids) == 2 and os.getpid() not in pids
    outcomes = dict(pool.run(iter([([(large, ("sha512",))], 5 << 19), ([(small, ("sha512",))], 1000)])))
    assert outcomes == {p: (p.stat().st_size, _digests(p.read_bytes(), ("sha512",))) for p in (large, small)}
    hashed_by = {p.name: (tmp_path / f"{p.name}.by").read_text().split() for p in (large, small)}
    assert all(len(by) == 1 and int(by[0]) in pids for by in hashed_by.values())  # once each, by a worker
    assert pool.pids() == []
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # ended and reaped


# A worker that dies: killed outright on "*.die", ending mid-task (exit status 70) on "*.crash".
DYING_BOOT = """
import os, sys
sys.path.insert(0, sys.argv[1])
from repository import hashcore
real_hash = hashcore.hash_path
def hash_path(path, algorithms, **options):
    if os.fsdecode(path).endswith(".die"):
        os.kill(os.getpid(), 9)
    if os.fsdecode(path).endswith(".crash"):
        os._exit(70)
    return real_hash(path, algorithms, **options)
hashcore.hash_path = hash_path
hashcore.serve()
"""


def test_a_worker_that_dies_costs_a_reread_here_and_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(hashprocs, "_BOOT", DYING_BOOT)
    paths = _files(tmp_path, [f"a{i}" for i in range(20)] + ["b.die"] + [f"c{i}" for i in range(20)] + ["d.crash"])
    expected = {p: (p.stat().st_size, _digests(p.read_bytes())) for p in paths}
    pool = hashprocs.ProcessPool(2).start()
    jobs = [(p, ALGS, p.stat().st_size) for p in paths]
    outcomes = dict(pool.run(fixity._batches(iter(jobs))))
    assert outcomes == expected  # the dead workers' files, hashed here
    assert sorted(pool.deaths, key=str) == sorted([-signal.SIGKILL, 70], key=str)


# A worker whose answers do not fit: a wrong digest count on "*.garble", an answer to no task on "*.stray".
GARBLING_BOOT = """
import sys
sys.path.insert(0, sys.argv[1])
from repository import hashcore
real = hashcore.answer
def answer(fields):
    out = real(fields)
    if fields[2].endswith(b".garble"):
        return out[:-1]
    if fields[2].endswith(b".stray"):
        return [b"999999"] + out[1:]
    return out
hashcore.answer = answer
hashcore.serve()
"""


@pytest.mark.parametrize("name", ["x.garble", "x.stray"])
def test_an_answer_that_does_not_fit_its_task_is_not_trusted(tmp_path, monkeypatch, name):
    monkeypatch.setattr(hashprocs, "_BOOT", GARBLING_BOOT)
    paths = _files(tmp_path, ["a", name, "b", "c"], size=3000)
    pool = hashprocs.ProcessPool(2).start()
    outcomes = dict(pool.run(([(p, ALGS)], 3000) for p in paths))
    assert outcomes == {p: (3000, _digests(p.read_bytes())) for p in paths}  # re-hashed here
    assert pool.deaths == [-signal.SIGKILL]


def test_when_no_replacement_is_left_the_rest_is_hashed_here(tmp_path, monkeypatch):
    monkeypatch.setattr(hashprocs, "_BOOT", "import os; os._exit(3)")  # every worker ends at once
    paths = _files(tmp_path, [f"f{i}" for i in range(12)], size=5000)
    pool = hashprocs.ProcessPool(2).start()
    outcomes = dict(pool.run(([(p, ALGS)], 5000) for p in paths))
    assert outcomes == {p: (5000, _digests(p.read_bytes())) for p in paths}
    assert pool.deaths == [3, 3, 3, 3] and pool.pids() == []  # two workers and their two replacements


def test_no_worker_process_means_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(fixity, "PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(hashprocs.sys, "executable", "")
    with pytest.raises(hashprocs.WorkersUnavailable):
        hashprocs.ProcessPool(2).start()
    paths = _files(tmp_path, ["x", "y", "z"], size=1000)
    outcomes = dict(fixity.iter_hash_jobs(((p, ALGS, 1000) for p in paths), 2, processes=True))
    assert outcomes == {p: (1000, _digests(p.read_bytes())) for p in paths}


def test_a_worker_that_cannot_start_ends_those_already_started(monkeypatch):
    started = []
    real_popen = hashprocs.subprocess.Popen

    def popen(*args, **kwargs):
        if started:
            raise OSError(11, "Resource temporarily unavailable")  # the second fork fails
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(hashprocs.subprocess, "Popen", popen)
    with pytest.raises(hashprocs.WorkersUnavailable):
        hashprocs.ProcessPool(2).start()
    assert len(started) == 1 and started[0].returncode is not None  # ended and reaped, not left behind


def test_small_work_is_hashed_on_threads_and_large_work_in_processes(tmp_path, monkeypatch):
    started = []
    real_start = hashprocs.ProcessPool.start
    monkeypatch.setattr(hashprocs.ProcessPool, "start", lambda pool: started.append(pool) or real_start(pool))
    monkeypatch.setattr(fixity, "PROCESS_MIN_BYTES", 600_000)
    paths = _files(tmp_path, ["a", "b", "c"], size=250_000)
    small = dict(fixity.iter_hash_jobs(((p, ALGS, 250_000) for p in paths[:2]), 2, processes=True))
    assert started == [] and len(small) == 2
    large = dict(fixity.iter_hash_jobs(((p, ALGS, 250_000) for p in paths), 2, processes=True))
    assert len(started) == 1 and large == {p: (250_000, _digests(p.read_bytes())) for p in paths}
    unhinted = dict(fixity.iter_hash_jobs(((p, ALGS) for p in paths), 2, processes=True))  # 3 x BATCH_BYTES
    assert len(started) == 2 and unhinted == large


def test_stopping_early_leaves_no_process_and_no_thread_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(fixity, "PROCESS_MIN_BYTES", 0)
    paths = _files(tmp_path, [f"f{i}" for i in range(60)], size=200_000)
    before = threading.active_count()
    pools = []
    real_start = hashprocs.ProcessPool.start
    monkeypatch.setattr(hashprocs.ProcessPool, "start", lambda pool: pools.append(pool) or real_start(pool))
    results = fixity.iter_hash_jobs(((p, ALGS, 200_000) for p in paths), 2, processes=True)
    next(results)
    pids = pools[0].pids()
    results.close()
    assert threading.active_count() == before
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie, no orphan


ORPHANING = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from repository import hashprocs
pool = hashprocs.ProcessPool(2).start()
with open(sys.argv[2], "w") as out:
    out.write(" ".join(str(pid) for pid in pool.pids()))
results = pool.run(iter([([(Path(sys.argv[3]), ("sha512",))], 1 << 26)] * 4))
next(results)  # one file hashed, more in the workers' hands
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_hash_workers_end_when_their_parent_is_killed(tmp_path):
    big = _files(tmp_path, ["big"], size=8 << 20)[0]
    pids_file = tmp_path / "pids"
    done = subprocess.run([sys.executable, "-c", ORPHANING, hashprocs._ROOT, str(pids_file), str(big)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    assert done.returncode == -signal.SIGKILL
    pids = [int(p) for p in pids_file.read_text().split()]
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{p}").exists() for p in pids)  # input closed: they stop (and init reaps them)


def test_workers_end_at_once_when_the_run_ends_and_one_that_does_not_is_killed(tmp_path, monkeypatch):
    paths = _files(tmp_path, ["a", "b"], size=3000)
    pool = hashprocs.ProcessPool(2).start()
    workers = list(pool.pool)
    assert dict(pool.run(([(p, ALGS)], 3000) for p in paths)) == {p: (3000, _digests(p.read_bytes())) for p in paths}
    assert [w.process.returncode for w in workers] == [0, 0]  # input closed: they left on their own
    # a worker that ignores the end of its input is killed once REAP_SECONDS have passed
    monkeypatch.setattr(hashprocs, "REAP_SECONDS", 0.5)
    monkeypatch.setattr(hashprocs, "_BOOT", "import sys, time\nsys.path.insert(0, sys.argv[1])\n"
                        "from repository.hashcore import serve\nserve()\ntime.sleep(600)")
    stubborn = hashprocs.ProcessPool(2).start()
    workers = list(stubborn.pool)
    assert dict(stubborn.run(([(p, ALGS)], 3000) for p in paths)) == {p: (3000, _digests(p.read_bytes()))
                                                                       for p in paths}
    assert [w.process.returncode for w in workers] == [-signal.SIGKILL] * 2 and stubborn.pids() == []
    assert stubborn.deaths == []  # their answers all came: nothing was hashed twice


UNCLOSED = """
import gc, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from repository import fixity
fixity.PROCESS_MIN_BYTES = 0
paths = [Path(name) for name in sys.argv[2:]]
jobs = lambda: ((p, ("sha512",), p.stat().st_size) for p in paths)
assert len(list(fixity.iter_hash_jobs(jobs(), 2, processes=True))) == len(paths)
early = fixity.iter_hash_jobs(jobs(), 2, processes=True)
next(early)
early.close()
assert len(list(fixity.iter_hash_jobs(jobs(), 2))) == len(paths)
gc.collect()
"""


def test_hashing_leaves_no_file_open_behind(tmp_path):
    """The workers' output pipes are closed when they end (``-W error::ResourceWarning`` reports nothing)."""
    paths = _files(tmp_path, [f"f{i}" for i in range(12)], size=200_000)
    done = subprocess.run([sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", UNCLOSED,
                           str(Path(hashprocs.__file__).resolve().parent.parent), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr, done.stderr


# --------------------------------------------------------------- mapped files (worker processes only)

@pytest.mark.parametrize("size", [hashcore.MAP_MIN_BYTES - 1, hashcore.MAP_MIN_BYTES, 3 * hashcore.CHUNK_SIZE + 17])
@pytest.mark.parametrize("algorithms", [("sha512",), ALGS])
def test_a_mapped_file_hashes_as_a_read_one(tmp_path, size, algorithms, monkeypatch):
    path = _files(tmp_path, ["f"], size)[0]
    mapped = []
    real = hashcore._feed_mapping
    monkeypatch.setattr(hashcore, "_feed_mapping", lambda *args: mapped.append(args[1]) or real(*args))
    expected = (size, _digests(path.read_bytes(), algorithms))
    assert hashcore.hash_path(path, algorithms, mapped=True) == expected == hashcore.hash_path(path, algorithms)
    assert mapped == ([size] if size >= hashcore.MAP_MIN_BYTES else [])  # only the mapped=True call, large files


def _stale_size(monkeypatch, size: int) -> None:
    """open_regular reports ``size`` (as fstat would have before the file changed)."""
    real = hashcore.open_regular

    def open_regular(path, follow_symlinks=False):
        fd, info = real(path, follow_symlinks)
        return fd, os.stat_result((*info[:6], size, *info[7:]))

    monkeypatch.setattr(hashcore, "open_regular", open_regular)


def test_bytes_written_after_fstat_are_read_after_the_mapping(tmp_path, monkeypatch):
    path = _files(tmp_path, ["grown"], 2 * hashcore.CHUNK_SIZE + 5)[0]
    _stale_size(monkeypatch, hashcore.MAP_MIN_BYTES + 3)  # the file grew between fstat and the mapping
    assert hashcore.hash_path(path, ALGS, mapped=True) == (path.stat().st_size, _digests(path.read_bytes()))


def test_a_file_shorter_than_fstat_said_is_read_instead_of_mapped(tmp_path, monkeypatch):
    path = _files(tmp_path, ["shrunk"], hashcore.MAP_MIN_BYTES + 10)[0]
    _stale_size(monkeypatch, 4 * hashcore.MAP_MIN_BYTES)  # it shrank before the mapping was made
    assert hashcore.hash_path(path, ALGS, mapped=True) == (path.stat().st_size, _digests(path.read_bytes()))


# Each file a worker maps is marked "<file>.mapped"; a "cut*" file is cut to 1,000 bytes once it is mapped,
# so the worker dies of SIGBUS as hashlib reads past the new end.
CUTTING_BOOT = """
import mmap, os, sys
sys.path.insert(0, sys.argv[1])
from repository import hashcore
real_mmap = mmap.mmap
def cutting(fd, length, **options):
    mapping = real_mmap(fd, length, **options)
    name = os.readlink(f"/proc/self/fd/{fd}")
    open(name + ".mapped", "w").close()
    if os.path.basename(name).startswith("cut"):
        os.truncate(name, 1000)
    return mapping
mmap.mmap = cutting
hashcore.serve()
"""


def test_workers_map_large_files_and_one_cut_short_under_its_mapping_is_reread_here(tmp_path, monkeypatch):
    monkeypatch.setattr(hashprocs, "_BOOT", CUTTING_BOOT)
    large = _files(tmp_path, ["large"], 3 * hashcore.CHUNK_SIZE)[0]
    small = _files(tmp_path, ["small"], 5000)[0]
    cut = _files(tmp_path, ["cut"], 2 * hashcore.CHUNK_SIZE)[0]
    pool = hashprocs.ProcessPool(2).start()
    outcomes = dict(pool.run(iter([([(p, ("sha512",))], p.stat().st_size) for p in (large, small, cut)])))
    assert cut.stat().st_size == 1000  # cut while mapped: the worker died, and the file was re-read here
    assert outcomes == {p: (p.stat().st_size, _digests(p.read_bytes(), ("sha512",))) for p in (large, small, cut)}
    assert pool.deaths == [-signal.SIGBUS]
    assert (tmp_path / "large.mapped").exists() and not (tmp_path / "small.mapped").exists()


def test_a_file_that_cannot_be_mapped_is_read_instead(tmp_path, monkeypatch):
    import mmap

    path = _files(tmp_path, ["unmappable"], 2 * hashcore.CHUNK_SIZE)[0]

    def refuse(*_args, **_options):
        raise OSError(19, "No such device")  # ENODEV: a file system without mmap

    monkeypatch.setattr(mmap, "mmap", refuse)
    assert hashcore.hash_path(path, ALGS, mapped=True) == (path.stat().st_size, _digests(path.read_bytes()))
