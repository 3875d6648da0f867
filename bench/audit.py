"""Benchmark: audit throughput against ``sha512sum`` on both cores and against the hashlib sha512 ceiling.

Builds (once, reused) a repository home whose OCFL store holds >= 2 GB: a few archives of large files and
several archives of many small files, each version locked with the demo PKI as ingest does. Then, in the
same run and in alternating rounds, it measures:

* the ceiling: two threads hashing an in-memory 1 MiB buffer with hashlib sha512 (what two cores can do);
* ``hsar audit --all`` as a fresh process (``audit()``: scan, hash every copy, verify every version lock with
  pyHanko, judge, write the audit log and the catalogue), with its peak RSS; from 64 archives on the audit
  runs in shard workers (``audit.processes``), whose CPU is counted and whose signature time is not shown;
* ``find STORE -type f -print0 | xargs -0 -P2 -n 50 sha512sum`` over the same files;
* :func:`repository.fixity.iter_hash_jobs` alone over the content files, in worker processes as the audit
  hashes (to tell hashing from the rest);
* two bare Python processes reading the same files into hashlib (:func:`plain_hashlib`): the most a
  hashlib-based program can do with these files here, since reading copies every byte out of the page cache
  (the ceiling hashes a buffer already in the CPU's cache).

Two more measurements (:mod:`audit_small`), each of ``hsar audit --all`` as a fresh process with its
imports and workers: over the demo generator's 300 small archives against ocfl-py's ``ocfl-validate.py``
(wall ratio, goal <= 1.0; CPU ratio), and over the large-file store, MB per CPU-second against two bare
Python processes hashing the same files (goal >= 0.9).

It prints MB/s (10^6 bytes), the ratios audit / sha512sum and audit / ceiling (goal >= 0.9), the time the
audit spent validating signatures, peak memory, and the same comparison per CPU-second. The store stays in
the page cache (it fits in RAM, and is read into it again before each round), so this measures CPU
efficiency, not the disk.

The speed of one core drifts by a fifth within seconds on a shared machine, so every ratio divides by the
mean of two ceilings measured just before and just after the run it judges. Each round measures the audit
twice: "cold", the first audit of a fresh process (``audit()`` timed; the interpreter start and the
imports of ``hsar audit`` are not: they are the same for any store size), and "warm", a second audit in the
same process, as every run of ``hsar scheduler`` after its first.

    .venv/bin/python bench/audit.py --out /tmp/hsar-bench-audit --rounds 3
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repository import quiet_third_party_warnings  # noqa: E402

quiet_third_party_warnings(sys.argv[1:])  # pyHanko's DSA deprecation and the like: as the CLI does

MB = 1_000_000
BLOCK = os.urandom(1 << 24)  # 16 MiB of noise, sliced per file (every file gets a unique header)


def _write(path: Path, size: int, tag: bytes) -> tuple[str, int]:
    """Write ``size`` bytes (unique ``tag`` first) and return the sha512 computed while writing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha512()
    header = tag.ljust(64, b"\0")
    with open(path, "wb") as handle:
        handle.write(header)
        digest.update(header)
        left, offset = size - len(header), (len(tag) * 7919) % len(BLOCK)
        while left > 0:
            chunk = BLOCK[offset:offset + min(left, 1 << 22)] or BLOCK[: min(left, 1 << 22)]
            handle.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
            offset = (offset + len(chunk)) % len(BLOCK)
    return digest.hexdigest(), size


def build_store(home: Path, large: int, large_mb: int, small: int, small_files: int) -> None:
    """Archives with 2 large files each, and archives with many 40-400 KB files, one locked version each."""
    from repository.config import load
    from repository.preservation.ocfl import OcflStore, SourceFile
    from repository.preservation.pki import create_demo_pki
    from repository.preservation.signing import SIGNATURE_FILE, SIGNATURE_MANIFEST, load_signer, lock_version

    home.mkdir(parents=True)
    create_demo_pki(home / "keys", organisation="基准测试 benchmark")
    (home / "hsar.toml").write_text("[storage]\nreplicas = []\n", "utf-8")
    signer = load_signer(load(home, environ={}), environ={})
    store = OcflStore.init(home / "storage")
    staging, work = home / "staging", home / "work"
    plans = [(f"BIG-{n}", [(f"data/scan/{k}.tif", large_mb * MB) for k in range(2)]) for n in range(large)]
    plans += [(f"SMALL-{n}", [(f"data/pages/{k:04d}.pdf", 40_000 + (k * 7717) % 360_000) for k in range(small_files)])
              for n in range(small)]
    for name, files in plans:
        object_id = f"urn:hsar:archive:BENCH-{name}"
        sources = {}
        for logical, size in files:
            digest, length = _write(work / logical, size, f"{object_id}/{logical}".encode())
            sources[logical] = SourceFile(work / logical, digest, length)
        manifest, p7s = lock_version({p: s.sha512 for p, s in sources.items()}, signer)
        for logical, data in ((SIGNATURE_MANIFEST, manifest), (SIGNATURE_FILE, p7s)):
            (work / logical).parent.mkdir(parents=True, exist_ok=True)
            (work / logical).write_bytes(data)
            sources[logical] = SourceFile(work / logical, hashlib.sha512(data).hexdigest(), len(data))
        store.add_version(object_id, sources, staging=staging, message="benchmark", user=("bench", None),
                          move=True)
        shutil.rmtree(work)


def store_bytes(root: Path) -> tuple[int, int]:
    count = size = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            count += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return count, size


def ceiling(seconds: float = 1.0, threads: int = 2) -> tuple[float, float]:
    """(MB/s, MB per CPU-second) of ``threads`` threads hashing a 1 MiB buffer with sha512 for ``seconds``."""
    buf = bytes(1 << 20)
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        h = hashlib.sha512()
        while time.perf_counter() < stop:
            for _ in range(16):
                h.update(buf)
            done[i] += 16 << 20

    start, cpu = time.perf_counter(), time.process_time()
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / MB / (time.perf_counter() - start), sum(done) / MB / (time.process_time() - cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sha512sum(root: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the peer command."""
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(f"find {root} -type f -print0 | xargs -0 -P2 -n 50 sha512sum > /dev/null", shell=True,
                   check=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def content_files(root: Path) -> list[tuple[Path, int]]:
    """Every content file of the store with its size, in walk order."""
    paths = [Path(d) / f for d, _dirs, names in os.walk(root) for f in names if "/content/" in d + "/"]
    return [(p, p.stat().st_size) for p in paths]


_PLAIN = """
import hashlib, os, sys
paths = sys.stdin.readline().split("\\0")[:-1]
buffer = bytearray(1 << 20)
sys.stdin.readline()  # go
for path in paths:
    digest, fd = hashlib.sha512(), os.open(path, os.O_RDONLY)
    while count := os.readv(fd, (buffer,)):
        digest.update(memoryview(buffer)[:count])
    os.close(fd)
"""


def plain_hashlib(root: Path, processes: int = 2) -> float:
    """MB/s of ``processes`` bare Python processes reading every content file (1 MiB ``readv``) into hashlib
    sha512, the files split evenly by size, timed from a start signal sent once they are up: what the
    cores do on these files from the page cache with nothing else to do (the copy out of the page cache
    included), the most any hashlib-based audit could reach here."""
    shares: list[list[str]] = [[] for _ in range(processes)]
    loads = [0] * processes
    for path, size in sorted(content_files(root), key=lambda file: -file[1]):  # largest first, each to
        least = loads.index(min(loads))  # the least loaded process
        shares[least].append(str(path))
        loads[least] += size
    pool = [subprocess.Popen([sys.executable, "-I", "-S", "-c", _PLAIN], stdin=subprocess.PIPE) for _ in shares]
    for proc, share in zip(pool, shares, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(("".join(p + "\0" for p in share) + "\n").encode())
        proc.stdin.flush()
    time.sleep(0.2)  # interpreters up and waiting
    start = time.perf_counter()
    for proc in pool:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    for proc in pool:
        proc.wait()
    return sum(loads) / MB / (time.perf_counter() - start)


def fixity_pipeline(root: Path) -> float:
    """MB/s of :func:`repository.fixity.iter_hash_jobs` alone (2 worker processes) over every content file."""
    from repository.fixity import iter_hash_jobs

    files = content_files(root)  # with sizes: the audit knows them from its scan, so the same batching
    size = sum(n for _path, n in files)
    start = time.perf_counter()
    jobs = ((p, ("sha512",), n) for p, n in files)
    for _path, outcome in iter_hash_jobs(jobs, 2, processes=True):
        assert not isinstance(outcome, OSError)
    return size / MB / (time.perf_counter() - start)


def _one_audit(home: Path, spent: list[float]) -> dict:
    from repository.audit.run import Selection, audit
    from repository.home import Repository

    spent[0] = 0.0
    with Repository.open(home) as repo:
        start, own, children = time.perf_counter(), time.process_time(), _children_cpu()
        run = audit(repo, Selection("all"), now=datetime.now(UTC))
        # hash workers and shard workers are reaped when the run ends: their CPU counts too
        seconds, own, children = time.perf_counter() - start, time.process_time() - own, _children_cpu() - children
    assert run.ok, run.summary()
    return {"seconds": seconds, "cpu": own + children, "own_cpu": own, "workers_cpu": children,
            "bytes": run.bytes_checked, "files": run.files_checked,
            "archives": len(run.archives), "signatures": spent[0] if spent[0] else None}


def audit_child(home: Path) -> None:
    """Run in a fresh process: a cold audit, then a warm one between two ceilings; print JSON."""
    from repository.preservation import signing

    spent = [0.0]
    real = signing.check_lock

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    signing.check_lock = timed  # preservation.copies imports it from signing at each check
    cold = _one_audit(home, spent)
    cold["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    before = ceiling(1.0)[0]
    warm = _one_audit(home, spent)
    warm["ceiling"] = (before + ceiling(1.0)[0]) / 2
    print(json.dumps({"cold": cold, "warm": warm}))


def _sig(result: dict) -> str:
    return f"{result['signatures']:.2f} s" if result["signatures"] is not None else "in shard workers"


def measure_audit(home: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(home)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/hsar-bench-audit"))
    parser.add_argument("--large", type=int, default=3, help="archives of two large files")
    parser.add_argument("--large-mb", type=int, default=320)
    parser.add_argument("--small", type=int, default=7, help="archives of many small files")
    parser.add_argument("--small-files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small-rounds", type=int, default=3, help="rounds over the demo's small archives (0: none)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        audit_child(args.child)
        return
    # hsar's modules imported from bytecode, as an installed hsar imports them (pip compiles them on install):
    # with PYTHONDONTWRITEBYTECODE set no cache is ever written, and every `hsar audit` measured here would
    # also compile about fifty modules of hsar from source (0.5 G instructions: 2.19 G where 1.70 G imports them)
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "repository"), quiet=1)
    home = args.out / "home"
    if not (home / "storage").exists():
        shutil.rmtree(home, ignore_errors=True)
        start = time.perf_counter()
        build_store(home, args.large, args.large_mb, args.small, args.small_files)
        print(f"built the store in {time.perf_counter() - start:.1f} s")
    if not (home / "catalog.sqlite").exists():  # an audit without a catalogue fails (AUD029)
        from repository.home import Repository

        with Repository.open(home) as repo:
            repo.create_catalog()
    files, size = store_bytes(home / "storage")
    print(f"store: {files} files, {size / MB:,.0f} MB ({args.large} archives of 2 x {args.large_mb} MB, "
          f"{args.small} archives of {args.small_files} files of 40-400 KB), one signed version each")
    from audit_small import build_small_home, plain_cpu, report_small, small_round, whole_audit_cpu

    small_home = args.out / "small" / "home"
    if args.small_rounds:
        start = time.perf_counter()
        build_small_home(small_home)
        print(f"small-archive home ready in {time.perf_counter() - start:.1f} s")
        small = [small_round(small_home) for _ in range(args.small_rounds)]
        report_small(small, sum(1 for _ in (small_home / "catalog.sqlite").parent.glob("storage/*/*/*/*")))
    rows = []
    for number in range(1, args.rounds + 1):
        # into the page cache before every round: this host's kernel evicted files of a 2.4 GB store while
        # more than 17 GB of memory stayed free (fincore), and a round reading from disk measures the disk
        subprocess.run(f"find {home / 'storage'} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True)
        top, top_cpu = ceiling(1.0)
        result = measure_audit(home)
        top_after = ceiling(1.0)[0]
        peer_wall, peer_cpu = sha512sum(home / "storage")
        hashing = fixity_pipeline(home / "storage")
        top_last = ceiling(1.0)[0]
        plain = plain_hashlib(home / "storage")
        top_plain = ceiling(1.0)[0]
        whole_wall, whole_cpu = whole_audit_cpu(home)
        plain_wall, plain_seconds = plain_cpu(content_files(home / "storage"))
        cold, warm = result["cold"], result["warm"]
        row = {"ceiling": (top + top_after) / 2, "peer": size / MB / peer_wall,
               "cold": cold["bytes"] / MB / cold["seconds"], "warm": warm["bytes"] / MB / warm["seconds"],
               "warm_ceiling": warm["ceiling"], "fixity": hashing, "fixity_ceiling": (top_after + top_last) / 2,
               "plain": plain, "plain_ceiling": (top_last + top_plain) / 2,
               "ceiling_cpu": top_cpu, "peer_cpu": size / MB / peer_cpu, "cold_cpu": cold["bytes"] / MB / cold["cpu"],
               "whole_cpu": size / MB / whole_cpu, "plain_cpu": size / MB / plain_seconds,
               "load": os.getloadavg()[0]}
        rows.append(row)
        print(f"round {number} (load {row['load']:.2f}): MB/s: ceiling {row['ceiling']:6.1f} | sha512sum -P2 "
              f"{row['peer']:6.1f} | hsar audit cold {row['cold']:6.1f} ({cold['seconds']:.2f} s, {cold['files']} files, "
              f"{cold['archives']} archives, signatures {_sig(cold)}, peak RSS {cold['maxrss_mib']:.0f} MiB)"
              f" | audit/ceiling {row['cold'] / row['ceiling']:.2f} | audit/sha512sum {row['cold'] / row['peer']:.2f}")
        print(f"        warm audit {row['warm']:6.1f} ({warm['seconds']:.2f} s, signatures {_sig(warm)})"
              f" / its ceiling {row['warm_ceiling']:6.1f} = {row['warm'] / row['warm_ceiling']:.2f} | "
              f"fixity.iter_hash_jobs alone {hashing:6.1f} = {hashing / row['fixity_ceiling']:.2f} of its ceiling")
        print(f"        bare hashlib over these files, 2 processes {plain:6.1f} = {plain / row['plain_ceiling']:.2f} of "
              f"its ceiling | warm audit / bare hashlib {row['warm'] / plain:.2f}")
        print(f"        MB per CPU-second: hashlib {top_cpu:6.1f} | sha512sum {row['peer_cpu']:6.1f} | hsar audit "
              f"cold {row['cold_cpu']:6.1f} | audit/hashlib {row['cold_cpu'] / top_cpu:.2f}")
        print(f"        whole process (imports, workers): hsar audit --all {whole_wall:.2f} s, {whole_cpu:.2f} CPU-s = "
              f"{row['whole_cpu']:.1f} MB/CPU-s | 2 bare hashlib processes {plain_wall:.2f} s, {plain_seconds:.2f} CPU-s"
              f" = {row['plain_cpu']:.1f} MB/CPU-s | audit/bare {row['whole_cpu'] / row['plain_cpu']:.2f} (goal >= 0.9)")
        print(f"        CPU seconds: hashing these bytes at the hashlib rate {size / MB / top_cpu:.2f} | audit cold: "
              f"this process {cold['own_cpu']:.2f}, workers {cold['workers_cpu']:.2f} | warm: this process "
              f"{warm['own_cpu']:.2f}, workers {warm['workers_cpu']:.2f}")

    def ratio(a: str, b: str) -> float:
        return statistics.median(r[a] / r[b] for r in rows)

    print(f"median MB/s: ceiling {statistics.median(r['ceiling'] for r in rows):.1f}, sha512sum -P2 "
          f"{statistics.median(r['peer'] for r in rows):.1f}, hsar audit cold "
          f"{statistics.median(r['cold'] for r in rows):.1f}, warm {statistics.median(r['warm'] for r in rows):.1f}")
    print(f"ratios, median of {len(rows)} rounds (goal >= 0.9 of the ceiling): audit cold / ceiling "
          f"{ratio('cold', 'ceiling'):.2f}, audit warm / ceiling {ratio('warm', 'warm_ceiling'):.2f}, "
          f"fixity alone / ceiling {ratio('fixity', 'fixity_ceiling'):.2f}, bare hashlib over the files / ceiling "
          f"{ratio('plain', 'plain_ceiling'):.2f}; audit warm / bare hashlib {ratio('warm', 'plain'):.2f}; audit cold / sha512sum -P2 "
          f"{ratio('cold', 'peer'):.2f}; per CPU-second: audit cold / hashlib {ratio('cold_cpu', 'ceiling_cpu'):.2f}, "
          f"sha512sum / hashlib {ratio('peer_cpu', 'ceiling_cpu'):.2f}; whole hsar audit --all / 2 bare hashlib "
          f"processes, MB per CPU-second (goal >= 0.9): {ratio('whole_cpu', 'plain_cpu'):.2f}")


if __name__ == "__main__":
    main()
