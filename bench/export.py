"""Benchmark: ``hsar export`` of about 1 GB against ``cp -r`` plus ``sha512sum`` of the same bytes, same run.

The store holds demo household archives each carrying large scanned-page TIFFs (random pixels, so nothing
deduplicates; made as ``bench/ingest.py`` makes them, then ingested, not timed). Then, alternating for
``--rounds`` rounds, on a warm page cache for both alike:

- peer: ``cp -r`` of every archive's OCFL object folder, then ``sha512sum`` of every file of those folders;
- hsar: ``export`` of every archive (one transfer package each, the transfer list), in a fresh process.

Prints wall seconds and CPU seconds (user + system of the child processes) of each, the ratios hsar / peer
(goal: wall <= 1.5) and the peak memory (VmHWM) of the exporting process. The export copies while it
hashes (each byte read once) and writes plain copies, as the peer does; neither fsyncs the copied payload.

    .venv/bin/python bench/export.py --mb 1024 --out /tmp/hsar-bench-export
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from repository import quiet_third_party_warnings  # noqa: E402

quiet_third_party_warnings(sys.argv[1:])  # pyHanko's DSA deprecation and the like: as the CLI does


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def make_home(out: Path, megabytes: int, per_archive_mb: int) -> tuple[Path, list[str], str]:
    """The home, its large archives, and one small demo archive (for the memory comparison)."""
    from ingest import make_big  # bench/ingest.py

    from repository.demo.generate import write_demo_data
    from repository.home import Repository, init_home
    from repository.ingest.pipeline import ingest

    sips = make_big(out / "sips", megabytes, per_archive_mb, seed=7)
    write_demo_data(out / "small", households=1, units=0, seed=99)
    small = sorted(p for p in (out / "small").iterdir() if (p / "bagit.txt").is_file())[0]
    home = out / "home"
    init_home(home)
    with Repository.open(home) as repo:
        outcomes = ingest(repo, [*sips, small])
    assert {o.status for o in outcomes} == {"ingested"}, [o.to_dict("en") for o in outcomes]
    shutil.rmtree(out / "sips")
    shutil.rmtree(out / "small")
    ids = [o.archive_id for o in outcomes if o.archive_id]
    return home, sorted(ids[:-1]), ids[-1]


def run_peer(home: Path, ids: list[str], scratch: Path) -> dict[str, float]:
    from repository.home import Repository
    from repository.preservation.ids import object_id

    with Repository.open(home) as repo:
        roots = [repo.store.object_root(object_id(i)) for i in ids]
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    cpu, started = _cpu(), time.perf_counter()
    for n, root in enumerate(roots):
        subprocess.run(["cp", "-r", str(root), str(scratch / f"{n:03d}")], check=True)
    files = [str(p) for root in roots for p in sorted(root.rglob("*")) if p.is_file()]
    subprocess.run(["xargs", "-0", "sha512sum"], input="\0".join(files).encode(), check=True,
                   stdout=subprocess.DEVNULL)
    seconds, cpu_seconds = time.perf_counter() - started, _cpu() - cpu
    shutil.rmtree(scratch)
    return {"seconds": seconds, "cpu": cpu_seconds}


def run_hsar(home: Path, ids: list[str], out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(home), str(out), *ids],
                          capture_output=True, text=True, check=False)
    seconds, cpu_seconds = time.perf_counter() - started, _cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"export child failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    shutil.rmtree(out)
    return {"seconds": seconds, "cpu": cpu_seconds, "inner": result["seconds"], "maxrss_kb": result["maxrss_kb"],
            "bytes": result["bytes"]}


def child(home: Path, out: Path, ids: list[str]) -> None:
    from repository.home import Repository
    from repository.services.transfer import CONSOLE, export

    with Repository.open(home) as repo:
        started = time.perf_counter()
        result = export(repo, CONSOLE, ids, out)
        elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "bytes": sum(a.bytes for a in result.archives), "maxrss_kb": _hwm_kb()}))


def _hwm_kb() -> int:
    """This process's peak resident size (VmHWM; ru_maxrss would keep the parent's peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="MB of stored content to export")
    parser.add_argument("--per-archive-mb", type=int, default=200, help="MB of scans per archive")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/hsar-bench-export"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.child[2:])
        return 0
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    print(f"# hsar export benchmark ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"load {os.getloadavg()[0]:.1f})")
    home, ids, small = make_home(out, args.mb, args.per_archive_mb)
    stored = _size(home / "storage")
    print(f"store: {len(ids)} archives, {stored / 1e6:,.0f} MB")
    ratios = []
    for n in range(1, args.rounds + 1):
        peer = run_peer(home, ids, out / "cp")
        mine = run_hsar(home, ids, out / "export")
        wall, cpu = mine["seconds"] / peer["seconds"], mine["cpu"] / peer["cpu"]
        ratios.append(wall)
        print(f"round {n}: cp -r + sha512sum {peer['seconds']:.1f} s wall, {peer['cpu']:.1f} CPU-s; "
              f"hsar export {mine['seconds']:.1f} s wall ({mine['inner']:.1f} s inside, "
              f"{mine['bytes'] / 1e6 / mine['inner']:,.0f} MB/s), {mine['cpu']:.1f} CPU-s; "
              f"ratio wall {wall:.2f}, CPU {cpu:.2f} (goal wall <= 1.5); peak memory "
              f"{mine['maxrss_kb'] / 1024:.0f} MiB")
    print(f"best wall ratio {min(ratios):.2f}, worst {max(ratios):.2f}")
    tiny = run_hsar(home, [small], out / "export")
    print(f"peak memory exporting one small archive ({tiny['bytes'] / 1e6:.1f} MB): "
          f"{tiny['maxrss_kb'] / 1024:.0f} MiB (flat: the same process size whatever the bytes)")
    shutil.rmtree(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
