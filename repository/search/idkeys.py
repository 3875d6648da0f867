"""Resident identity numbers in the search index as keyed digests, never as the numbers themselves.

The index (a cache anyone who can read the home's index folder can read) holds, for exact ``id:`` lookup,
HMAC-SHA256 of each canonical number under a secret of the home (``keys/index-id.key``: 32 random bytes,
owner-only, made by ``hsar init`` or the first index write). Every other place a number could sit (the stored
payload a hit is rendered from, the words of item texts, the catch-all field) gets the privacy mask
(:func:`repository.privacy.mask_text`: first six and last four). A query's ``id:`` value, and a bare number in
a free-text query, are digested the same way before the engine sees them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import replace
from pathlib import Path

from ..privacy import mask_text, mask_value
from .documents import SearchDocument
from .plan import And, Node, Or, Phrase, Prefix, Term, Terms
from .schema import ALL

ID_FIELD = "resident_id"
DIGEST_PREFIX = "rid"
_LOOKS_LIKE_ID = re.compile(r"\d{14,17}[\dxX]")


def load_key(path: Path, *, create: bool = True) -> bytes | None:
    """The home's index secret at ``path``, made (owner-only) when missing and ``create``."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def digest(key: bytes, value: str) -> str:
    """The index form of one canonical identity number."""
    return DIGEST_PREFIX + hmac.new(key, value.upper().encode("utf-8"), hashlib.sha256).hexdigest()


def protect(doc: SearchDocument, key: bytes | None) -> SearchDocument:
    """``doc`` as the index may hold it: identity numbers as digests (keyword and catch-all), masked elsewhere."""
    if key is None:
        return doc
    raw = set(doc.keywords.get(ID_FIELD, ()))
    digests = {v: digest(key, v) for v in raw}
    # the archive's identifier is its key (its page's address, what a hit links to), not personal data: kept as
    # it is, though it may hold 15 digits or more (HH-320106010-0001479) that the identity-number mask would hide
    kept = {i.replace(" ", "") for i in doc.keywords.get("archive_id", ())}
    keywords = {**doc.keywords, ID_FIELD: tuple(digests[v] for v in doc.keywords.get(ID_FIELD, ()))}
    fields = {}
    for name, text in doc.text.items():  # space-joined tokens: masked one by one (digit words stay apart)
        fields[name] = " ".join(digests.get(t) or digests.get(t.upper()) or (t if t in kept else mask_text(t))
                                for t in text.split(" "))
    data = mask_value(json.loads(doc.payload))
    data["id"] = doc.archive_id
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return replace(doc, keywords=keywords, text=fields, payload=payload)


def digest_query(node: Node, key: bytes | None) -> Node:
    """``node`` with ``id:`` values (and bare numbers looked up in the catch-all field) digested; a prefix of
    an identity number cannot be looked up in a digest and matches nothing."""
    if key is None:
        return node
    if isinstance(node, Term) and (node.field == ID_FIELD or (node.field == ALL and _LOOKS_LIKE_ID.fullmatch(node.value))):
        return Term(node.field, digest(key, node.value))
    if isinstance(node, Terms) and node.field == ID_FIELD:
        return Terms(node.field, tuple(digest(key, v) for v in node.values))
    if isinstance(node, Prefix) and node.field == ID_FIELD:
        return Term(node.field, digest(key, node.prefix) + "*")
    if isinstance(node, Phrase) and node.field == ALL:
        return Phrase(node.field, tuple(digest(key, w) if _LOOKS_LIKE_ID.fullmatch(w) else w for w in node.words))
    if isinstance(node, And):
        return And(tuple(digest_query(n, key) for n in node.must), tuple(digest_query(n, key) for n in node.must_not))
    if isinstance(node, Or):
        return Or(tuple(digest_query(n, key) for n in node.should))
    return node
