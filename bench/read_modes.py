"""Benchmark: what reading costs the hashing, per CPU-second, for files already in the page cache.

One process hashes the same large files with hashlib sha512 four ways, alternating, and prints MB per
CPU-second and the ratio to hashing an in-memory buffer (the ceiling bench/audit.py uses):

* ``mem``: a 1 MiB in-memory buffer, as many bytes as the files hold;
* ``read``: ``os.readv`` into one reused 1 MiB buffer (what the audit's hash workers do);
* ``populate``: ``mmap`` with ``MAP_POPULATE``, hashed in 4 MiB slices (no copy);
* ``sequential``: ``mmap`` with ``MADV_SEQUENTIAL``.

    .venv/bin/python bench/read_modes.py FILE... [--rounds 4]

(e.g. the 320 MB files of the bench/audit.py store: ``find /tmp/hsar-bench-audit -size +100M``).
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import resource
import statistics

CHUNK = 1 << 20


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def hash_files(mode: str, files: list[str]) -> float:
    """MB per CPU-second of hashing ``files`` the ``mode`` way."""
    total, start = 0, _cpu()
    if mode == "mem":
        buffer = os.urandom(CHUNK)
        for _ in range(sum(os.path.getsize(f) for f in files) // CHUNK):
            hashlib.sha512(buffer).digest()
            total += CHUNK
    for name in files if mode != "mem" else ():
        fd = os.open(name, os.O_RDONLY)
        digest = hashlib.sha512()
        try:
            if mode == "read":
                buffer = bytearray(CHUNK)
                view = memoryview(buffer)
                while count := os.readv(fd, (buffer,)):
                    digest.update(view[:count])
                    total += count
            else:
                size = os.fstat(fd).st_size
                flags = mmap.MAP_SHARED | (mmap.MAP_POPULATE if mode == "populate" else 0)
                with mmap.mmap(fd, size, flags=flags, prot=mmap.PROT_READ) as mapped:
                    if mode == "sequential":
                        mapped.madvise(mmap.MADV_SEQUENTIAL)
                    with memoryview(mapped) as view:
                        for offset in range(0, size, 4 * CHUNK):
                            digest.update(view[offset:offset + 4 * CHUNK])
                total += size
        finally:
            os.close(fd)
    return total / 1e6 / (_cpu() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    for name in args.files:  # into the page cache
        with open(name, "rb") as handle:
            while handle.read(1 << 24):
                pass
    modes = ("mem", "read", "populate", "sequential")
    rates: dict[str, list[float]] = {m: [] for m in modes}
    for round_ in range(1, args.rounds + 1):
        got = {m: hash_files(m, args.files) for m in modes}
        for m in modes:
            rates[m].append(got[m])
        print(f"round {round_}: " + " | ".join(f"{m} {got[m]:,.0f}" for m in modes) + " MB/CPU-s")
    ceiling = statistics.median(rates["mem"])
    print("median MB per CPU-second, and / mem: " + " | ".join(
        f"{m} {statistics.median(rates[m]):,.0f} ({statistics.median(rates[m]) / ceiling:.2f})" for m in modes))


if __name__ == "__main__":
    main()
