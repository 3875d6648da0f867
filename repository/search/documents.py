"""One search document per archive (一档一文档), built from the archive's description and extracted text.

:func:`archive_document` is what ingest, supplements and ``hsar reindex`` call; it needs nothing but the
:class:`~repository.model.Archive`, the version name and the text extracted from its payload files. The
document carries:

- analysed fields (space-joined jieba tokens, see :mod:`repository.search.analysis`): title (archive and item
  titles), name (head and members), address, estate (a household's address counts), text (extracted
  document text), all (everything, plus whole identifiers and names), phrase (precise words in order);
- exact-match fields (:data:`repository.search.schema.KEYWORD_FIELDS`): identifiers, codes and vocabularies,
  the division and every ancestor of it (so a search scoped to a city finds its districts and streets);
- a JSON payload with what a hit shows: title, division, items with their paper references, paper volumes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import islice
from typing import Any, Protocol

from ..model import MATERIAL_CLASS_LABELS, RETENTION_LABELS, STATUS_LABELS, Archive, Item, PaperRef, Shelf
from . import analysis
from .schema import ALL, PHRASE, QUERY_FIELDS

_SUFFIXES = {"building": ("号楼", "栋", "幢", "楼"), "entrance": ("单元",), "room": ("室", "号")}
MAX_STORED_TEXT = 20_000  # characters of an item's text kept in the payload, for highlights
_CANONICAL = {f.index_field: dict(f.values) for f in QUERY_FIELDS if f.values}


@dataclass(frozen=True)
class SearchDocument:
    """What an engine indexes for one archive; engine-neutral and picklable."""

    archive_id: str
    keywords: Mapping[str, tuple[str, ...]]  # exact-match index field -> normalised values
    text: Mapping[str, str]  # analysed index field -> space-joined tokens
    sort_year: int
    payload: str  # JSON, see module docstring

    def stored(self) -> dict[str, Any]:
        return json.loads(self.payload)


class Tree(Protocol):
    """What documents need of :class:`repository.divisions.DivisionTree`."""

    def ancestors(self, code: str) -> list[str]: ...

    def path_name(self, code: str) -> str: ...


def default_tree() -> Tree:
    from ..divisions import default_tree as bundled

    return bundled()


def structural_ancestors(code: str) -> list[str]:
    """Ancestors by the shape of a GB/T 2260 code: province xx0000, city xxyy00, district, street (9 digits)."""
    code = code.strip()
    if not (code.isascii() and code.isdigit()) or len(code) not in (6, 9):
        return [code] if code else []
    six = code[:6]
    path = [six[:2] + "0000"]
    if six[2:4] != "00":
        path.append(six[:4] + "00")
    if six[4:] != "00":
        path.append(six)
    if len(code) == 9:
        path.append(code)
    return list(dict.fromkeys(path))


def division_path(code: str, tree: Tree | None = None) -> tuple[str, ...]:
    """``code`` and all its ancestors, root first: from the division tree, else from the code's shape."""
    path = list((tree or default_tree()).ancestors(code))
    return tuple(dict.fromkeys(path) if path else structural_ancestors(code))


@lru_cache(maxsize=4096)
def _shelf(shelf: Shelf) -> str:
    return str(shelf)


def _paper(p: PaperRef) -> dict[str, Any]:
    return {"catalogue": p.catalogue, "volume": p.volume, "item": p.item,
            "pages": f"{p.page_start}-{p.page_end}", "box": p.box, "shelf": _shelf(p.shelf)}


#: payload path -> (page number, OCR text) of its scanned pages (see :mod:`.ocrtext`)
PageTexts = Mapping[str, Sequence[tuple[int, str]]]


def _item_text(item: Item, texts: Mapping[str, str], pages: PageTexts | None = None) -> str:
    return _text_and_pages(item.files, texts, pages)[0]


def _text_and_pages(files: Iterable[str], texts: Mapping[str, str], pages: PageTexts | None
                    ) -> tuple[str, list[list[Any]]]:
    """The files' text, OCR pages included, and where each page is in it: ``[file, page, start, end, place]``
    (``place``: the file's place among the item's files, from 1, which with the item's number is the file's
    reference, :mod:`repository.filerefs`; an index written before it was kept has spans of four)."""
    parts: list[str] = []
    spans: list[list[Any]] = []
    pos = 0
    for place, f in enumerate(files, start=1):
        if texts.get(f):
            parts.append(texts[f])
            pos += len(texts[f]) + 1
        for number, text in (pages or {}).get(f, ()):
            if text:
                spans.append([f, number, pos, pos + len(text), place])
                parts.append(text)
                pos += len(text) + 1
    return "\n".join(parts), spans


def _paper_volumes(archive: Archive) -> list[dict[str, Any]]:
    """Paper volumes the archive's items are bound in, each with its item numbers (archive volume first)."""
    v = archive.volume
    volumes: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    first = (v.catalogue, v.number, v.box, _shelf(v.shelf))
    volumes[first] = {"reference_code": archive.reference_code, "fonds": archive.fonds, "catalogue": v.catalogue,
                      "volume": v.number, "box": v.box, "shelf": _shelf(v.shelf), "items": [],
                      "original_volume": v.original_volume or (archive.supplement_of.original_volume
                                                               if archive.supplement_of else None)}
    for item in archive.items:
        p = item.paper
        key = (p.catalogue, p.volume, p.box, _shelf(p.shelf))
        entry = volumes.setdefault(key, {**volumes[first], "catalogue": p.catalogue, "volume": p.volume,
                                         "box": p.box, "shelf": _shelf(p.shelf), "items": []})
        entry["items"].append(item.number)
    return [e for e in volumes.values() if e["items"] or e is volumes[first]]


def _payload_item(i: Item, texts: Mapping[str, str], pages: PageTexts | None) -> dict[str, Any]:
    text, spans = _text_and_pages(i.files, texts, pages)
    item: dict[str, Any] = {"number": i.number, "class": i.material_class.value, "subtype": i.subtype, "title": i.title,
            "date": i.date.isoformat(), "pages": i.pages, "paper": _paper(i.paper), "text": text[:MAX_STORED_TEXT]}
    if spans:  # where each scanned page's OCR text is in "text", so a hit can say the page
        item["ocr"] = [s for s in spans if s[2] < MAX_STORED_TEXT]
    return item


def _payload(archive: Archive, version: str, texts: Mapping[str, str], pages: PageTexts | None = None) -> str:
    hh, unit = archive.household, archive.unit
    people = [hh.head, *hh.members] if hh else []
    items = [_payload_item(i, texts, pages) for i in archive.items]
    data = {"id": archive.identifier, "type": archive.type.value, "title": archive.title,
            "division": archive.division, "version": version, "year": archive.year,
            "ref": archive.reference_code, "names": [p.name for p in people],
            "ids": [p.resident_id for p in people],
            "address": hh.address if hh else unit.address if unit else "",
            "estate": f"{unit.estate} {unit.project}".strip() if unit else "",
            "unit": {"building": unit.building, "entrance": unit.entrance, "room": unit.room} if unit else None,
            "items": items, "paper": _paper_volumes(archive)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _keywords(archive: Archive, divisions: Sequence[str]) -> dict[str, tuple[str, ...]]:
    hh, unit, v = archive.household, archive.unit, archive.volume
    papers = [i.paper for i in archive.items]
    raw: dict[str, list[str]] = {
        "archive_id": [archive.identifier], "type": [archive.type.value], "division": [archive.division],
        "divisions": list(divisions), "retention": [archive.retention.value], "access": [archive.access.value],
        "security": [hh.security_type] if hh else [unit.housing_type] if unit else [],
        "status": [hh.status.status.value] if hh and hh.statuses else [],
        "class": [i.material_class.value for i in archive.items], "subtype": [i.subtype for i in archive.items],
        "year": [str(archive.year)] + [str(i.date.year) for i in archive.items],
        "resident_id": [p.resident_id for p in ([hh.head, *hh.members] if hh else [])],
        "ref": [archive.reference_code], "fonds": [archive.fonds],
        "catalogue": [v.catalogue] + [p.catalogue for p in papers],
        "volume": [v.number, v.original_volume or ""] + [p.volume for p in papers]
        + [archive.supplement_of.original_volume if archive.supplement_of else ""],
        "box": [v.box] + [p.box for p in papers], "shelf": [_shelf(v.shelf)] + [_shelf(p.shelf) for p in papers],
        "building": [unit.building] if unit else [], "entrance": [unit.entrance] if unit else [],
        "room": [unit.room] if unit else [],
    }
    return {k: tuple(dict.fromkeys(canonical_value(k, x) for x in dict.fromkeys(vs) if x and x.strip()))
            for k, vs in raw.items()}


@lru_cache(maxsize=65_536)
def canonical_value(index_field: str, value: str) -> str:
    """The form an exact-match value is indexed and queried in: a vocabulary code, else normalised text
    (a unit's building, entrance and room without their 栋/单元/室 suffix, so ``3栋`` and ``3`` agree)."""
    norm = analysis.normalize(value.strip())
    suffixes = _SUFFIXES.get(index_field)
    if suffixes and norm.endswith(suffixes) and len(norm) > 1:
        norm = next(norm[:-len(s)] for s in suffixes if norm.endswith(s)) or norm
    return _CANONICAL.get(index_field, {}).get(norm, norm)


def _texts(archive: Archive, texts: Mapping[str, str], tree: Tree, pages: PageTexts | None = None
           ) -> dict[str, list[str]]:
    hh, unit = archive.household, archive.unit
    names = [p.name for p in ([hh.head, *hh.members] if hh else [])]
    address = [hh.address] if hh else [unit.address] if unit else []
    estate = [unit.estate, unit.project] if unit else address
    extra = [MATERIAL_CLASS_LABELS[i.material_class] for i in archive.items] + [i.subtype for i in archive.items]
    extra += [RETENTION_LABELS[archive.retention], archive.institution, tree.path_name(archive.division)]
    if hh:
        extra += [hh.security_type, hh.income_band, hh.housing_situation]
        extra += [STATUS_LABELS[hh.status.status]] if hh.statuses else []
    if unit:
        extra += [unit.housing_type, unit.layout, unit.source, unit.ownership]
    body = [_item_text(i, texts, pages) for i in archive.items]
    known = {f for i in archive.items for f in i.files}
    body += [t for path, t in texts.items() if path not in known and t]
    body += [t for path, found in (pages or {}).items() if path not in known for _n, t in found if t]
    return {"title": [archive.title] + [i.title for i in archive.items], "name": names, "address": address,
            "estate": estate, "text": body, "extra": extra}


def archive_document(archive: Archive, *, version: str, texts: Mapping[str, str],
                     tree: Tree | None = None, pages: PageTexts | None = None) -> SearchDocument:
    """The search document of ``archive`` at ``version``; ``texts`` maps payload paths to extracted text,
    ``pages`` payload paths to the OCR text of their scanned pages (``[(page number, text), …]``).

    ``tree`` is the repository's division tree (``repository.divisions.tree_for(config)``; default the
    bundled one): it gives the ancestors the division facet rolls up to, and division names to search by.
    """
    tree = tree or default_tree()
    keywords = _keywords(archive, division_path(archive.division, tree))
    parts = _texts(archive, texts, tree, pages)
    fields: dict[str, str] = {}
    all_tokens: list[str] = []
    phrase: list[str] = []
    for name, values in parts.items():
        if name == "extra":  # labels and vocabulary: searchable words, once each
            all_tokens.extend(dict.fromkeys(analysis.index_tokens("\n".join(dict.fromkeys(values)))))
            continue
        tokens: list[str] = []
        for value in values:
            ws, ts = analysis.analyze(value)
            phrase.extend(ws)
            tokens.extend(ts)
        if name in ("name", "estate"):  # whole names and estates match as one word too
            tokens.extend(analysis.normalize(v).replace(" ", "") for v in values if v.strip())
        fields[name] = " ".join(tokens)
        all_tokens.extend(tokens)
    for key in ("resident_id", "ref", "archive_id", "volume", "box", "shelf", "room"):
        all_tokens.extend(v.replace(" ", "") for v in keywords[key])
    fields[ALL] = " ".join(all_tokens)
    fields[PHRASE] = " ".join(phrase)
    return SearchDocument(archive.identifier, keywords, fields, archive.year,
                          _payload(archive, version, texts, pages))


def sort_key(doc: SearchDocument) -> str:
    """The value of the year sort field: year, then archive id, so both engines break ties alike."""
    return f"{doc.sort_year:04d}|{canonical_value('archive_id', doc.archive_id)}"


def _build(source: tuple[Archive, str, Mapping[str, str]], tree: Tree | None = None) -> SearchDocument:
    archive, version, texts = source
    return archive_document(archive, version=version, texts=texts, tree=tree)


def build_documents(sources: Iterable[tuple[Archive, str, Mapping[str, str]]], *, tree: Tree | None = None,
                    workers: int = 1, chunksize: int = 64) -> Iterator[SearchDocument]:
    """Documents for (archive, version, texts) triples, in order; jieba runs in ``workers`` processes if > 1."""
    build = partial(_build, tree=tree)
    if workers <= 1:
        yield from map(build, sources)
        return
    window = workers * chunksize * 4  # bounded memory: never more than this many archives in flight
    it = iter(sources)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        while batch := list(islice(it, window)):
            yield from pool.map(build, batch, chunksize=chunksize)
