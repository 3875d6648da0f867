"""Search (检索): one engine interface, Whoosh and Tantivy behind it, jieba for Chinese text.

Entry points for ingest, supplements, ``hsar reindex`` and ``hsar search``:

- :func:`archive_document` / :func:`build_documents`: the search document of an archive version;
- :func:`extract_pdf_text`: text of a born-digital PDF, bounded, never raising;
- :func:`open_engine`: the engine named by ``search.engine`` over ``search.index``;
- :meth:`SearchEngine.replace` + :meth:`SearchEngine.commit` at ingest; :func:`reindex` for a rebuild;
- :meth:`SearchEngine.search` with a :class:`SearchRequest`; :func:`mask_hit` / :func:`mask_result`.
"""

from ..privacy import mask_resident_id
from .documents import SearchDocument, archive_document, build_documents
from .engine import ENGINES, SearchEngine, reindex
from .extract import extract_pdf_text
from .masking import mask_hit, mask_result
from .opening import open_engine
from .results import Hit, SearchRequest, SearchResult
from .schema import FACETS, QUERY_FIELDS

__all__ = [
    "ENGINES", "FACETS", "QUERY_FIELDS", "Hit", "SearchDocument", "SearchEngine", "SearchRequest",
    "SearchResult", "archive_document", "build_documents", "extract_pdf_text", "mask_hit", "mask_resident_id",
    "mask_result", "open_engine", "reindex",
]
