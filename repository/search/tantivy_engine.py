"""The Tantivy engine (tantivy-py): for repositories of hundreds of thousands of archives.

Analysed fields hold space-joined jieba tokens and use Tantivy's ``whitespace`` tokenizer (no positions,
except ``phrase``); exact-match fields use the ``raw`` tokenizer and, when they can be facets, are fast fields
so facet counts come from one terms aggregation. The payload is a stored bytes field. One writer is opened
on the first write and released on :meth:`commit`, so other processes may write between commits.

What a query answered (the page's payloads and total; the facet counts, apart, so the next page of a search
reuses them; and, once a search is asked again, its whole rendered answer, hits with their highlights, pickled,
so a repeated search renders nothing again) is kept in a :class:`~.resultcache.ResultCache` per index generation: the identity of
``meta.json``, which Tantivy replaces on every commit, by this process or another. A search that sees a new
generation reloads the reader first, so it never answers from an index older than the one on disk.
"""

from __future__ import annotations

import json
import os
import pickle
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import tantivy

from ..errors import SearchError
from .documents import SearchDocument, canonical_value, sort_key
from .engine import RawResult, SearchEngine
from .idkeys import protect
from .plan import And, MatchAll, Node, Or, Phrase, Prefix, Term, Terms
from .resultcache import MAX_PAGE, ResultCache
from .results import SearchResult
from .schema import (
    ARCHIVE_ID,
    FACET_INDEX_FIELDS,
    KEYWORD_FIELDS,
    PAYLOAD,
    PHRASE,
    SCHEMA_VERSION,
    SORT_YEAR,
    TEXT_FIELDS,
)

MARKER = "hsar-schema.json"
META = "meta.json"  # Tantivy's own list of committed segments, replaced on every commit
_META = ("\\", ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$", "#", "&", "-", "~")
FACET_BUCKETS = 10_000


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field(PHRASE, tokenizer_name="whitespace", index_option="position")
    for name in KEYWORD_FIELDS:
        fast = name in FACET_INDEX_FIELDS or name == ARCHIVE_ID
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=fast)
    sb.add_text_field(SORT_YEAR, tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_bytes_field(PAYLOAD, stored=True)
    return sb.build()


def _pack(answer: SearchResult) -> bytes:
    return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in _META else c for c in text)


class TantivyEngine(SearchEngine):
    """A Tantivy index in ``path``."""

    kind = "tantivy"

    def __init__(self, path: Path, *, heap_bytes: int = 256_000_000, threads: int = 0) -> None:
        self.path = Path(path)
        self.heap_bytes, self.threads = heap_bytes, threads
        self._schema = _schema()
        self._writer: tantivy.IndexWriter | None = None
        self._index = self._open()
        self.results = ResultCache()
        self._generation = self._stamp()

    def _open(self) -> tantivy.Index:
        self.path.mkdir(parents=True, exist_ok=True)
        marker = self.path / MARKER
        if marker.exists() and json.loads(marker.read_text("utf-8")).get("schema") != SCHEMA_VERSION:
            raise SearchError(msgid="search.index_other_version", path=str(self.path))
        try:
            index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
        except ValueError as exc:
            raise SearchError(msgid="search.index_unopenable", path=str(self.path), detail=str(exc)) from None
        if not marker.exists():  # written once, atomically: every request opens the index, many at a time
            partial = marker.with_name(f".{MARKER}.{os.getpid()}.{threading.get_ident()}")
            partial.write_text(json.dumps({"engine": self.kind, "schema": SCHEMA_VERSION}), "utf-8")
            os.replace(partial, marker)
        return index

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path / META)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def generation(self) -> tuple[int, int, int] | None:
        """The index's current generation; when it moved since the last search, the reader is reloaded first
        (so every search after a commit, here or in another process, sees it)."""
        stamp = self._stamp()
        if stamp != self._generation:
            self._index.reload()
            self._generation = stamp
        return stamp

    def _w(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=self.heap_bytes, num_threads=self.threads)
            except ValueError as exc:
                raise SearchError(msgid="search.index_busy", detail=f" ({exc})") from None
        return self._writer

    def _doc(self, doc: SearchDocument) -> tantivy.Document:
        doc = protect(doc, self.id_key)
        data: dict[str, object] = {k: list(v) for k, v in doc.keywords.items() if v}
        data.update({k: v for k, v in doc.text.items() if v})
        data[SORT_YEAR] = sort_key(doc)
        data[PAYLOAD] = doc.payload.encode("utf-8")
        return tantivy.Document.from_dict(data, self._schema)

    def add(self, docs: Iterable[SearchDocument]) -> int:
        writer, n = self._w(), 0
        for doc in docs:
            writer.add_document(self._doc(doc))
            n += 1
        return n

    def replace(self, doc: SearchDocument) -> None:
        self.delete(doc.archive_id)
        self._w().add_document(self._doc(doc))

    def delete(self, archive_id: str) -> None:
        self._w().delete_documents_by_term(ARCHIVE_ID, canonical_value(ARCHIVE_ID, archive_id))

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self._index.reload()
        self.results.clear()

    def clear(self) -> None:
        writer = self._w()
        writer.delete_all_documents()
        self.commit()

    def count(self) -> int:
        return self._index.searcher().num_docs

    def close(self) -> None:
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None

    # -- queries -----------------------------------------------------------------------------------------

    def _q(self, node: Node) -> tantivy.Query:
        s, Occur = self._schema, tantivy.Occur
        if isinstance(node, Term):
            option = "freq" if node.field in TEXT_FIELDS else "basic"
            return tantivy.Query.term_query(s, node.field, node.value, index_option=option)
        if isinstance(node, Terms):
            return tantivy.Query.term_set_query(s, node.field, list(node.values))
        if isinstance(node, Phrase):
            return tantivy.Query.phrase_query(s, node.field, list(node.words))
        if isinstance(node, Prefix):
            return tantivy.Query.regex_query(s, node.field, _regex_escape(node.prefix) + ".*")
        if isinstance(node, MatchAll):
            return tantivy.Query.all_query()
        if isinstance(node, Or):
            return tantivy.Query.boolean_query([(Occur.Should, self._q(n)) for n in node.should])
        assert isinstance(node, And)
        clauses = [(Occur.Must, self._q(n)) for n in node.must]
        clauses += [(Occur.MustNot, self._q(n)) for n in node.must_not]
        return clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)

    def _facets(self, searcher: tantivy.Searcher, query: tantivy.Query,
                fields: Sequence[str]) -> dict[str, dict[str, int]]:
        if not fields:
            return {}
        aggs = {f: {"terms": {"field": f, "size": FACET_BUCKETS}} for f in fields}
        out = searcher.aggregate(query, aggs)
        return {f: {b["key"]: int(b["doc_count"]) for b in out.get(f, {}).get("buckets", [])} for f in fields}

    def _page(self, searcher: tantivy.Searcher, query: tantivy.Query, sort: tuple[str, bool] | None, offset: int,
              limit: int) -> tuple[int, list[tuple[bytes, float]]]:
        if sort is None:
            result = searcher.search(query, limit, count=True, offset=offset)
        else:
            order = tantivy.Order.Desc if sort[1] else tantivy.Order.Asc
            result = searcher.search(query, limit, count=True, offset=offset, order_by_field=sort[0], order=order)
        page = []
        for score, address in result.hits:
            stored = searcher.doc(address).get_first(PAYLOAD)  # every document has its payload
            # UTF-8 JSON as stored: hit rendering decodes it (orjson) without a str in between
            page.append((bytes(stored or b""), float(score) if sort is None else 0.0))
        return int(result.count or 0), page  # type: ignore[attr-defined]  # count: missing from tantivy.pyi

    def _remembered(self, key: tuple[object, ...], limit: int, compute: Callable[[], SearchResult]) -> SearchResult:
        if limit > MAX_PAGE:
            return compute()
        return self.results.again(self.generation(), key, compute, _pack, pickle.loads)

    def _execute(self, node: Node, *, facets: Sequence[str], sort: tuple[str, bool] | None, offset: int,
                 limit: int) -> RawResult:
        generation = self.generation()
        state: dict[str, tantivy.Searcher | tantivy.Query] = {}

        def searcher_and_query() -> tuple[tantivy.Searcher, tantivy.Query]:
            if not state:  # one searcher for both parts, made only when one of them is not cached
                state["searcher"], state["query"] = self._index.searcher(), self._q(node)
            return state["searcher"], state["query"]  # type: ignore[return-value]

        def page() -> tuple[int, list[tuple[bytes, float]]]:
            return self._page(*searcher_and_query(), sort, offset, limit)

        def counts() -> dict[str, dict[str, int]]:
            return self._facets(*searcher_and_query(), facets)

        fields = tuple(facets)
        if limit <= MAX_PAGE:
            total, hits = self.results.get(generation, ("page", node, sort, offset, limit), page)
        else:
            total, hits = page()
        found = self.results.get(generation, ("facets", node, fields), counts) if fields else {}
        return RawResult(total, list(hits), found)
