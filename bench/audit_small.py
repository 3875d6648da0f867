"""The two whole-process audit measurements of ``bench/audit.py`` (issue 15, "Audit on stores of many small
archives"), each as the user runs it: ``hsar audit --all`` in a fresh process, imports, shard and hash
workers included (their CPU is the children's rusage of this process, which waits for them all).

* Many small archives: a home filled by ingesting the demo generator's SIPs (``hsar demo-data``: 300
  archives, 435 versions with the supplements), audited by ``hsar audit --all`` and validated by ocfl-py's
  ``ocfl-validate.py`` (every digest of the same objects), alternately; the ratio of wall times (goal
  <= 1.0) and of CPU seconds.
* The large-file store: MB per CPU-second of ``hsar audit --all`` against two bare Python processes reading
  the same files into hashlib, their interpreters' start included (goal >= 0.9).

The machine these runs are recorded on is shared (load average printed with each round): the CPU-second
figures and the ratios measured in the same round are the ones to read, wall times drift with the load.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HSAR = [sys.executable, "-c", "import sys; from repository.cli import main; sys.argv[0] = 'hsar'; main()"]
VALIDATOR = Path(sys.executable).parent / "ocfl-validate.py"
MB = 1_000_000


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and every process it waited for) of ``command``."""
    start, cpu = time.perf_counter(), children_cpu()
    subprocess.run(command, check=True, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu() - cpu


def build_small_home(home: Path, households: int = 230, units: int = 70, seed: int = 7) -> None:
    """A home holding the demo generator's archives, ingested as ``hsar ingest`` does (once; reused)."""
    if (home / "storage").exists():
        return
    shutil.rmtree(home, ignore_errors=True)
    sips = home.parent / "sips"
    shutil.rmtree(sips, ignore_errors=True)
    run = lambda *args: subprocess.run([*HSAR, *args], check=True, env=_env(), stdout=subprocess.DEVNULL)  # noqa: E731
    run("demo-data", str(sips), "--households", str(households), "--units", str(units), "--seed", str(seed))
    run("--home", str(home), "init")
    run("--home", str(home), "ingest", "--workers", "2", *sorted(str(p) for p in sips.iterdir() if p.is_dir()
                                                                    and p.name[0].isdigit()))


def small_round(home: Path) -> dict[str, float]:
    """One round: ``hsar audit --all`` and ``ocfl-validate.py`` over the same storage root, back to back."""
    subprocess.run(f"find {home / 'storage'} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True)
    audit_wall, audit_cpu = timed([*HSAR, "--home", str(home), "audit", "--all"])
    ocfl_wall, ocfl_cpu = timed([sys.executable, str(VALIDATOR), "-q", str(home / "storage")])
    return {"audit_wall": audit_wall, "audit_cpu": audit_cpu, "ocfl_wall": ocfl_wall, "ocfl_cpu": ocfl_cpu,
            "load": os.getloadavg()[0]}


def whole_audit_cpu(home: Path) -> tuple[float, float]:
    """(wall, CPU seconds) of ``hsar audit --all`` as a fresh process, imports and workers included."""
    return timed([*HSAR, "--home", str(home), "audit", "--all"])


_PLAIN = """
import hashlib, os, sys
buffer = bytearray(1 << 20)
for path in sys.stdin.read().split("\\0")[:-1]:
    digest, fd = hashlib.sha512(), os.open(path, os.O_RDONLY)
    while count := os.readv(fd, (buffer,)):
        digest.update(memoryview(buffer)[:count])
    os.close(fd)
"""


def plain_cpu(files: list[tuple[Path, int]], processes: int = 2) -> tuple[float, float]:
    """(wall, CPU seconds) of ``processes`` bare Python processes hashing ``files`` (split evenly by size),
    interpreter start included."""
    shares: list[list[str]] = [[] for _ in range(processes)]
    loads = [0] * processes
    for path, size in sorted(files, key=lambda file: -file[1]):
        least = loads.index(min(loads))
        shares[least].append(str(path))
        loads[least] += size
    start, cpu = time.perf_counter(), children_cpu()
    pool = [subprocess.Popen([sys.executable, "-I", "-S", "-c", _PLAIN], stdin=subprocess.PIPE) for _ in shares]
    for proc, share in zip(pool, shares, strict=True):
        assert proc.stdin is not None
        proc.stdin.write("".join(p + "\0" for p in share).encode())
        proc.stdin.close()
    for proc in pool:
        proc.wait()
    return time.perf_counter() - start, children_cpu() - cpu


def report_small(rows: list[dict[str, float]], archives: int) -> None:
    import statistics

    for number, row in enumerate(rows, 1):
        print(f"small round {number} (load {row['load']:.2f}): {archives} archives | hsar audit --all "
              f"{row['audit_wall']:.2f} s wall, {row['audit_cpu']:.2f} CPU-s | ocfl-validate.py "
              f"{row['ocfl_wall']:.2f} s wall, {row['ocfl_cpu']:.2f} CPU-s | wall audit/ocfl "
              f"{row['audit_wall'] / row['ocfl_wall']:.2f} (goal <= 1.0), CPU audit/ocfl "
              f"{row['audit_cpu'] / row['ocfl_cpu']:.2f}")
    print(f"small archives, median of {len(rows)} rounds: wall hsar audit / ocfl-validate "
          f"{statistics.median(r['audit_wall'] / r['ocfl_wall'] for r in rows):.2f}; CPU-seconds "
          f"{statistics.median(r['audit_cpu'] / r['ocfl_cpu'] for r in rows):.2f}")
