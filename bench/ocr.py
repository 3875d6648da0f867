"""Benchmark: OCR pages per second, ``hsar ocr`` against the ``tesseract`` command on the same pages.

Makes demo households (``hsar demo-data``: per household a clean 300 dpi text scan, the housing proof, and
three or four 150 dpi scans of glyph-like strokes, one of them sometimes two pages), ingests them once into a
template home, then in alternating rounds measures on a fresh copy of that home:

* hsar: :func:`repository.ingest.ocr.ocr_archives` over every archive (find the scans, split multi-page TIFFs,
  run tesseract ``ocr.workers`` = 2 at a time, build, sign and commit one OCFL version per archive, catalogue
  and index it): the whole of ``hsar ocr --all`` but the interpreter start;
* the peer: ``xargs -0 -P2 -n1 tesseract FILE stdout -l chi_sim --psm 3`` over the same stored scan files
  (tesseract reads every page of a multi-page TIFF itself), ``OMP_THREAD_LIMIT=1`` as for hsar, so both use
  two processes of one thread each.

It prints pages, seconds and pages/s of each, the ratio hsar / peer (goal >= 0.9), the CPU seconds of hsar's
own process (every thread: finding and splitting pages, signing, storing, indexing; the first round also loads
pyhanko, jieba and the signer) beside those of the tesseract processes of each, and peak memory (hsar's
process, and the largest tesseract child of either).

    .venv/bin/python bench/ocr.py --households 4 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repository import quiet_third_party_warnings  # noqa: E402

quiet_third_party_warnings(sys.argv[1:])  # pyHanko's DSA deprecation and the like: as the CLI does


def _template(root: Path, households: int, seed: int) -> tuple[Path, int]:
    from repository.demo.generate import write_demo_data
    from repository.home import Repository, init_home
    from repository.ingest.pipeline import ingest

    sips = write_demo_data(root / "sips", households=households, units=0, seed=seed)
    originals = [p for p in sips if "-supplement-" not in p.name]
    home = root / "template"
    init_home(home)
    with Repository.open(home) as repo:
        outcomes = ingest(repo, originals)
    assert all(o.status == "ingested" for o in outcomes), [o.to_dict("en") for o in outcomes]
    return home, len(originals)


def _scan_files(home: Path) -> tuple[list[Path], int]:
    """The stored scan files (what the peer reads) and their page count."""
    from PIL import Image

    from repository.formats.scanpages import scan_kind
    from repository.home import Repository

    files, pages = [], 0
    with Repository.open(home) as repo:
        for oid in sorted(repo.store.iter_object_ids()):
            for path in sorted(p for p in repo.store.state(oid) if p.startswith("data/")):
                stored = repo.store.content_path(oid, path)
                if scan_kind(stored) in ("tiff", "jpeg", "png"):
                    files.append(stored)
                    with Image.open(stored) as img:
                        pages += getattr(img, "n_frames", 1)
    return files, pages


def run_hsar(template: Path, work: Path) -> dict[str, float]:
    from repository.home import Repository
    from repository.ingest.ocr import ocr_archives

    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(template, home, symlinks=True)
    with Repository.open(home) as repo:
        own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        outcomes = ocr_archives(repo, workers=2)
        seconds = time.perf_counter() - start
        own, children = _cpu(resource.RUSAGE_SELF) - own, _cpu(resource.RUSAGE_CHILDREN) - children
    assert all(o.status == "added" for o in outcomes), [o.to_dict() for o in outcomes]
    return {"pages": sum(o.pages for o in outcomes), "seconds": seconds, "own_cpu": own, "children_cpu": children}


def _cpu(who: int) -> float:
    """User + system CPU seconds of this process (all its threads) or of its waited-for children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_peer(files: list[Path], pages: int) -> dict[str, float]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    listing = b"\0".join(str(f).encode() for f in files)
    children = _cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(["xargs", "-0", "-P2", "-n1", "sh", "-c", 'tesseract "$0" stdout -l chi_sim --psm 3'],
                   input=listing, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return {"pages": pages, "seconds": seconds, "children_cpu": _cpu(resource.RUSAGE_CHILDREN) - children}


def _tesseract_peak(image: Path) -> float:
    """Peak RSS (MiB) of one tesseract process on ``image`` (GNU time when installed, else 0)."""
    if not Path("/usr/bin/time").exists():
        return 0.0
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "tesseract", str(image), "stdout", "-l", "chi_sim"],
                         capture_output=True, text=True, env=dict(os.environ, OMP_THREAD_LIMIT="1"), check=False)
    lines = out.stderr.strip().splitlines()
    return int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--make-template", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="hsar-bench-ocr-"))
    root.mkdir(parents=True, exist_ok=True)
    if args.make_template:
        _template(root, args.households, args.seed)
        return
    from repository.formats.tesseract import engine_info

    engine = engine_info("chi_sim")
    template = root / "template"
    if not template.exists():  # built in a child process, so this one's peak memory is the OCR run's own
        subprocess.run([sys.executable, __file__, "--make-template", "--households", str(args.households),
                        "--seed", str(args.seed), "--out", str(root)], check=True)
    archives = len([p for p in (root / "sips").iterdir() if p.is_dir() and "-supplement-" not in p.name])
    files, pages = _scan_files(template)
    print(f"{engine.label}; {archives} archives, {len(files)} scan files, {pages} pages; load {os.getloadavg()}")
    rows: list[float] = []
    cpu: list[float] = []
    for n in range(1, args.rounds + 1):
        peer = run_peer(files, pages)
        hsar = run_hsar(template, root)
        assert hsar["pages"] == pages, (hsar, pages)
        ratio = (hsar["pages"] / hsar["seconds"]) / (peer["pages"] / peer["seconds"])
        rows.append(ratio)
        print(f"round {n}: hsar {hsar['pages']:.0f} pages in {hsar['seconds']:.1f} s = "
              f"{hsar['pages'] / hsar['seconds']:.2f} pages/s; xargs -P2 tesseract {peer['seconds']:.1f} s = "
              f"{peer['pages'] / peer['seconds']:.2f} pages/s; ratio {ratio:.2f} (goal >= 0.9)")
        print(f"         CPU: hsar's own process {hsar['own_cpu']:.2f} s, its tesseract children "
              f"{hsar['children_cpu']:.1f} s; the peer's tesseract processes {peer['children_cpu']:.1f} s")
        cpu.append(round(hsar["own_cpu"], 2))
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = _tesseract_peak(max(files, key=lambda f: f.stat().st_size))
    print(f"peak memory: hsar process {me:.0f} MiB (tesseract processes apart); one tesseract process on the "
          f"largest scan {child:.0f} MiB (two run at a time, in both)")
    print(json.dumps({"ratios": [round(r, 3) for r in rows], "own_cpu_s": cpu, "pages": pages, "engine": engine.label,
                      "peak_mib": round(me), "child_peak_mib": round(child)}))
    if args.out is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
