"""Benchmark: format identification throughput, hsar against the ``fido`` command, in the same run.

Generates a mixed corpus (PDF, TIFF, JPEG, PNG, XML, plain text, OFD, random bytes), identifies it with
:class:`repository.formats.identify.Identifier` (signature loading included in the time) and with the
``fido`` command installed beside this Python (process start included), checks that both give the same
PRONOM PUIDs for every file (except the documented differences of :mod:`repository.formats.fidodiff`;
``plain-text`` and ``extension-generic-first`` in this corpus), and prints files/s, the ratio and peak memory. Goal: ratio >= 3.

    .venv/bin/python bench/identify.py --files 300 --out /tmp/hsar-bench-identify
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Collection
from pathlib import Path

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repository import quiet_third_party_warnings  # noqa: E402

quiet_third_party_warnings(sys.argv[1:])  # pyHanko's DSA deprecation and the like: as the CLI does

from repository.formats.identify import Identifier, pronom_candidates  # noqa: E402

TEXT = "住房保障对象档案：申请书、家庭情况、住房收入财产证明、诚信申报、审核表、轮候记录。\n"
OFD_XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" '
           'Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>{n}</ofd:DocID>'
           '</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')


def _pdf(path: Path, rng: random.Random) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4)
    for page in range(rng.randint(1, 6)):
        c.setFont("STSong-Light", 11)
        for line in range(40):
            c.drawString(50, 800 - 18 * line, f"{page}-{line} " + TEXT.strip())
        c.showPage()
    c.save()


def _image(path: Path, rng: random.Random, fmt: str) -> None:
    w, h = rng.randint(200, 900), rng.randint(200, 900)
    img = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3)) if fmt == "JPEG" else \
        Image.linear_gradient("L").resize((w, h)).convert("RGB")
    options = {"JPEG": {"quality": 85}, "TIFF": {"compression": rng.choice(["raw", "tiff_lzw"])}, "PNG": {}}
    img.save(path, fmt, **options[fmt])


def _ofd(path: Path, n: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", OFD_XML.format(n=n))
        z.writestr("Doc_0/Document.xml", '<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"/>')


def make_corpus(out: Path, n: int, seed: int = 7) -> list[Path]:
    """``n`` files of eight kinds, round robin, reproducible from ``seed``."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    kinds = ["pdf", "tif", "jpg", "png", "xml", "txt", "ofd", "bin"]
    paths = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        path = out / f"f{i:05d}.{kind}"
        if kind == "pdf":
            _pdf(path, rng)
        elif kind in ("tif", "jpg", "png"):
            _image(path, rng, {"tif": "TIFF", "jpg": "JPEG", "png": "PNG"}[kind])
        elif kind == "xml":
            items = "".join(f"<item n='{k}'>{TEXT.strip()}</item>" for k in range(rng.randint(5, 400)))
            path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<archive>{items}</archive>\n', "utf-8")
        elif kind == "txt":
            path.write_text(TEXT * rng.randint(5, 2000), "utf-8")
        elif kind == "ofd":
            _ofd(path, i)
        else:
            path.write_bytes(rng.randbytes(rng.randint(1000, 400_000)))
        paths.append(path)
    return paths


def run_fido(paths: list[Path], work: Path) -> tuple[dict[str, set[str]], float, int]:
    """PUIDs per file from the ``fido`` command, wall time, and its peak RSS (KiB)."""
    listing = work / "fido-input.txt"
    listing.write_text("".join(f"{p}\n" for p in paths), "utf-8")
    fido = Path(sys.executable).parent / "fido"
    printf = r"OK\t%(info.puid)s\t%(info.filename)s\n"
    out_file = work / "fido-output.txt"
    start = time.perf_counter()
    with open(out_file, "wb") as out:
        proc = subprocess.Popen([str(fido), "-q", "-matchprintf", printf, "-input", str(listing)],
                                stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"fido failed with status {status}")
    found: dict[str, set[str]] = {str(p): set() for p in paths}
    for line in out_file.read_text("utf-8").splitlines():
        if line.startswith("OK\t"):
            _, puid, name = line.split("\t", 2)
            found[name].add(puid)
        elif line.startswith("KO,"):
            found[next(csv.reader(io.StringIO(line)))[6]]  # no match: the empty set stays
    return found, elapsed, usage.ru_maxrss


def _hsar_child(listing: Path, workers: int) -> None:
    """Child-process side of :func:`run_hsar`: identify, print JSON (PUIDs, in-process time, RSS)."""
    paths = [Path(line) for line in listing.read_text("utf-8").splitlines()]
    start = time.perf_counter()
    with Identifier() as identifier:
        loaded = time.perf_counter()
        facts = identifier.identify_many(paths, workers=workers)
    end = time.perf_counter()
    print(json.dumps({
        "puids": {str(p): sorted(pronom_candidates(f)) for p, f in zip(paths, facts, strict=True)},
        "methods": Counter(f.method for f in facts), "load": loaded - start, "identify": end - loaded,
        "rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }))


def run_hsar(paths: list[Path], work: Path, workers: int) -> tuple[dict[str, set[str]], float, dict]:
    """hsar in a fresh process, like the fido command: PUIDs per file, wall time, child's report."""
    listing = work / "hsar-input.txt"
    listing.write_text("".join(f"{p}\n" for p in paths), "utf-8")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(listing), "--workers", str(workers)],
                          capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    report = json.loads(done.stdout)
    return {p: set(v) for p, v in report.pop("puids").items()}, elapsed, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _hsar_child(args.child, args.workers)
        return 0
    if args.out is None:
        parser.error("--out is required")
    paths = make_corpus(args.out / "corpus", args.files, args.seed)
    size = sum(p.stat().st_size for p in paths)
    ours, t_ours, report = run_hsar(paths, args.out, args.workers)
    theirs, t_fido, fido_rss = run_fido(paths, args.out)
    documented = {p: _documented(ours[p], theirs[p]) for p in ours if ours[p] != theirs[p]}
    differ = [p for p, why in documented.items() if why is None]
    n = len(paths)
    print(f"corpus: {n} files, {size / 1e6:.1f} MB, {dict(Counter(p.suffix for p in paths))}")
    print(f"hsar  (fresh process, workers={args.workers}): {t_ours:6.2f} s  {n / t_ours:7.1f} files/s"
          f"  [signature load {report['load']:.2f} s, identify_many {report['identify']:.2f} s; "
          f"methods {report['methods']}]")
    print(f"fido  (fresh process, the command):     {t_fido:6.2f} s  {n / t_fido:7.1f} files/s")
    print(f"ratio (hsar / fido, files per second):  {t_fido / t_ours:.2f}x   (goal >= 3x)")
    print(f"documented differences from FIDO (repository/formats/fidodiff.py): "
          f"{dict(Counter(why for why in documented.values() if why))}")
    print(f"same PUIDs: {n - len(documented)}/{n}, undocumented differences: {len(differ)}" + (f"; first difference {differ[0]}: hsar {sorted(ours[differ[0]])} "
                                                  f"fido {sorted(theirs[differ[0]])}" if differ else ""))
    print(f"peak RSS: hsar parent {report['rss_self'] / 1024:.0f} MiB, each hsar worker <= "
          f"{report['rss_workers'] / 1024:.0f} MiB, fido {fido_rss / 1024:.0f} MiB")
    return 1 if differ else 0


def _documented(ours: Collection[str], theirs: Collection[str]) -> str | None:
    """The class of :data:`repository.formats.fidodiff.DIFFERENCES` a difference belongs to, if any:
    ``plain-text`` (hsar: x-fmt/111 by the bytes; FIDO: every format using the extension) or
    ``extension-generic-first`` (hsar keeps the extension's formats FIDO prunes by priority)."""
    if sorted(ours) == ["x-fmt/111"] and "x-fmt/111" in theirs:
        return "plain-text"
    if set(theirs) < set(ours):
        return "extension-generic-first"
    return None


if __name__ == "__main__":
    raise SystemExit(main())
