"""The Whoosh engine (whoosh-reloaded): pure Python, embedded, the default for small repositories.

Analysed fields hold space-joined jieba tokens (the same tokens Tantivy indexes) split by a whitespace
tokenizer; exact-match fields hold several values split on the unit separator. Facet counts are taken from
the set of matching documents and a per-generation cache of each facet field's values per document. Broad
queries cost time in proportion to their matches: prefer Tantivy for large repositories.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from whoosh import fields, index, query
from whoosh.analysis import RegexTokenizer, SpaceSeparatedTokenizer
from whoosh.index import LockError

from ..errors import SearchError
from .documents import SearchDocument, canonical_value, sort_key
from .engine import RawResult, SearchEngine
from .idkeys import protect
from .plan import And, MatchAll, Node, Or, Phrase, Prefix, Term, Terms
from .schema import ARCHIVE_ID, KEYWORD_FIELDS, PAYLOAD, PHRASE, SCHEMA_VERSION, SORT_YEAR, TEXT_FIELDS

SEP = "\x1f"
MARKER = "hsar-schema.json"


def _schema() -> fields.Schema:
    words = SpaceSeparatedTokenizer()
    values = RegexTokenizer(r"[^\x1f]+")
    spec: dict[str, fields.FieldType] = {name: fields.TEXT(analyzer=words, phrase=False) for name in TEXT_FIELDS}
    spec[PHRASE] = fields.TEXT(analyzer=words, phrase=True)
    spec.update({name: fields.KEYWORD(analyzer=values) for name in KEYWORD_FIELDS})
    spec[ARCHIVE_ID] = fields.ID(unique=True, sortable=True)
    spec[SORT_YEAR] = fields.ID(sortable=True)
    spec[PAYLOAD] = fields.STORED()
    return fields.Schema(**spec)


class WhooshEngine(SearchEngine):
    """A Whoosh index in ``path``."""

    kind = "whoosh"

    def __init__(self, path: Path, *, limitmb: int = 256) -> None:
        self.path = Path(path)
        self.limitmb = limitmb
        self._writer = None
        self._searcher = None
        self._searcher_no = 0
        self._facet_cache: dict[tuple[int, str], list[tuple[str, ...]]] = {}
        self._index = self._open()

    def _open(self) -> index.Index:
        self.path.mkdir(parents=True, exist_ok=True)
        marker = self.path / MARKER
        if index.exists_in(str(self.path)):
            if not marker.exists() or json.loads(marker.read_text("utf-8")).get("schema") != SCHEMA_VERSION:
                raise SearchError(msgid="search.index_other_version", path=str(self.path))
            return index.open_dir(str(self.path))
        if any(p.name != MARKER for p in self.path.iterdir()):  # segments without a table of contents
            raise SearchError(msgid="search.index_damaged", path=str(self.path))
        ix = index.create_in(str(self.path), _schema())
        marker.write_text(json.dumps({"engine": self.kind, "schema": SCHEMA_VERSION}), "utf-8")
        return ix

    def _w(self) -> Any:  # noqa: ANN401 - a whoosh writer (whoosh has no type hints)
        if self._writer is None:
            try:
                self._writer = self._index.writer(limitmb=self.limitmb)
            except LockError:
                raise SearchError(msgid="search.index_busy", detail="") from None
        return self._writer

    @staticmethod
    def _fields(doc: SearchDocument) -> dict[str, str]:
        data = {k: SEP.join(v) for k, v in doc.keywords.items() if v}
        data.update({k: v for k, v in doc.text.items() if v})
        data[ARCHIVE_ID] = canonical_value(ARCHIVE_ID, doc.archive_id)
        data[SORT_YEAR] = sort_key(doc)
        data[PAYLOAD] = doc.payload
        return data

    def add(self, docs: Iterable[SearchDocument]) -> int:
        writer, n = self._w(), 0
        for doc in docs:
            writer.add_document(**self._fields(protect(doc, self.id_key)))
            n += 1
        return n

    def replace(self, doc: SearchDocument) -> None:
        self._w().update_document(**self._fields(protect(doc, self.id_key)))

    def delete(self, archive_id: str) -> None:
        self._w().delete_by_term(ARCHIVE_ID, canonical_value(ARCHIVE_ID, archive_id))

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer = None
        self._facet_cache.clear()

    def clear(self) -> None:
        self.close()
        self._index = index.create_in(str(self.path), _schema())
        self._facet_cache.clear()

    def count(self) -> int:
        return self._index.doc_count()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def _current_searcher(self) -> Any:  # noqa: ANN401 - a whoosh searcher (whoosh has no type hints)
        """One searcher kept open between queries, renewed when another commit has landed."""
        if self._searcher is None:
            self._searcher = self._index.searcher()
        else:
            fresh = self._searcher.refresh()  # shares unchanged segment readers: the old one is not closed
            if fresh is self._searcher:
                return fresh
            self._searcher = fresh
        self._searcher_no += 1
        self._facet_cache.clear()
        return self._searcher

    # -- queries -----------------------------------------------------------------------------------------

    def _q(self, node: Node) -> query.Query:
        if isinstance(node, Term):
            return query.Term(node.field, node.value)
        if isinstance(node, Terms):
            return query.Or([query.Term(node.field, v) for v in node.values])
        if isinstance(node, Phrase):
            return query.Phrase(node.field, list(node.words))
        if isinstance(node, Prefix):
            return query.Prefix(node.field, node.prefix)
        if isinstance(node, MatchAll):
            return query.Every()
        if isinstance(node, Or):
            return query.Or([self._q(n) for n in node.should])
        assert isinstance(node, And)
        must = [self._q(n) for n in node.must]
        positive = must[0] if len(must) == 1 else query.And(must)
        if node.must_not:
            return query.AndNot(positive, query.Or([self._q(n) for n in node.must_not]))
        return positive

    def _values(self, searcher: Any, field: str) -> list[tuple[str, ...]]:  # noqa: ANN401 - whoosh, untyped
        """Each document's values of ``field`` (global doc numbers), cached while the searcher is current."""
        key = (self._searcher_no, field)
        if key not in self._facet_cache:
            reader = searcher.reader()
            lists: list[list[str]] = [[] for _ in range(reader.doc_count_all())]
            for term in reader.lexicon(field):
                text = term.decode("utf-8")
                for docnum in reader.postings(field, term).all_ids():
                    lists[docnum].append(text)
            self._facet_cache[key] = [tuple(v) for v in lists]
        return self._facet_cache[key]

    def _facets(self, searcher: Any, docs: set[int], fields_: Sequence[str]  # noqa: ANN401 - whoosh, untyped
                ) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for field in fields_:
            values, counts = self._values(searcher, field), Counter[str]()
            for docnum in docs:
                counts.update(values[docnum])
            out[field] = dict(counts)
        return out

    def _execute(self, node: Node, *, facets: Sequence[str], sort: tuple[str, bool] | None, offset: int,
                 limit: int) -> RawResult:
        q = self._q(node)
        searcher = self._current_searcher()
        kwargs = {"sortedby": sort[0], "reverse": sort[1]} if sort else {}
        results = searcher.search(q, limit=offset + limit, terms=False, **kwargs)
        total = len(results)
        page = [(hit[PAYLOAD], float(hit.score or 0.0) if sort is None else 0.0)
                for hit in results[offset:offset + limit]]
        counts = self._facets(searcher, results.docs(), facets) if facets else {}
        return RawResult(total, page, counts)
