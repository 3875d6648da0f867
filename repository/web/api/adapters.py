"""What the JSON API asks of the library, beyond the page gateways it shares (:mod:`..gateway`): who a bearer
token is, a search with a chosen page size, the access register and the audit log as the user may read them,
and jobs. Every decision asks :mod:`repository.access` (through :mod:`..gateway.access`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ...accounts.register import record_use
from ...accounts.securitylog import list_events
from ...accounts.tokens import verify_token
from ...divisions import tree_for
from ...home import Repository
from ...jobs.exports import OUTPUT_KINDS
from ...jobs.queue import JobQueue
from ...jobs.records import Job
from ...search.results import SearchRequest
from ...services import auditlog, paper_stored, people
from ...services.uses import UseFilter, uses_in_scope
from ...state.db import State
from .. import shared
from ..gateway import access, searching, transfer
from ..gateway.access import Action, Principal, Role
from .spec import PREFIX


class Refused(Exception):
    """The request is refused: HTTP ``status``, stable ``code``, message key ``key`` (in web_api.json)."""

    def __init__(self, status: int, code: str, key: str, **params: object) -> None:
        super().__init__(code)
        self.status, self.code, self.key, self.params = status, code, key, params


@contextmanager
def _state(repo: Repository) -> Iterator[State]:
    yield shared.state(shared.state_url(repo.cfg))


def not_found() -> Refused:
    return Refused(404, "API-NOT-FOUND", "api.not_found")


@dataclass(frozen=True)
class Caller:
    principal: Principal
    lang: str
    bearer: bool  # a token, not a browser session


def token_caller(repo: Repository, token: str) -> Caller | None:
    """The active user of a live bearer token (its use is recorded), else None. A verified token is
    remembered for a few seconds while the state database stands still (:mod:`..tokencache`)."""

    def verify() -> Caller | None:
        with _state(repo) as state:
            user = verify_token(state, token)
        return None if user is None else Caller(user.principal, user.lang, True)

    return shared.token_cache(shared.state_url(repo.cfg)).caller(token, verify)


def require(principal: Principal, action: Action, *, roles: Sequence[Role] | None = None) -> None:
    if not access.may(principal, action) or (roles is not None and principal.role not in roles):
        raise Refused(403, "API-FORBIDDEN", "api.forbidden")


def search(repo: Repository, principal: Principal, args: Mapping[str, Any]) -> dict[str, Any]:
    """As :func:`..gateway.searching.search` (same scope, masking and facets), with ``per_page`` and a
    chosen subset of facets. The answer shares the (possibly cached) hits' values: it is only serialised."""
    tree = tree_for(repo.cfg)
    filters = {k: v.strip() for k in searching.ADVANCED if isinstance(v := args.get(k), str) and v.strip()}
    facets = tuple(args["facet"].split(",")) if args.get("facet") else searching.FACETS
    request = SearchRequest(query=args.get("q") or "", filters=filters, division=access.scope_division(principal),
                            facets=facets, sort=args.get("sort"), page=args["page"], per_page=args["per_page"])
    result = repo.search.search(searching.guarded(principal, request), divisions=tree)
    if not access.sees_personal_data(principal):
        result = searching._masked(repo, result)  # noqa: SLF001 - the page's own masking, shared on purpose
    names = {code: d.name for code in sorted(searching._codes(result)) if (d := tree.get(code)) is not None}  # noqa: SLF001
    shown = {name: [{"value": v, "count": n, "depth": d} for v, n, d in searching.facet_rows(name, counts, tree, principal)]
             for name, counts in result.facets.items()}
    return {"total": result.total, "page": args["page"], "per_page": args["per_page"],
            "pages": max(1, -(-result.total // args["per_page"])), "hits": [h.to_dict(copy=False) for h in result.hits],
            "facets": shown, "division_names": names}


def record_download(repo: Repository, principal: Principal, archive_id: str, path: str, purpose: str) -> None:
    with _state(repo) as state:
        record_use(state, principal, "download", archive_id, purpose, item=path,
                   masked=not access.sees_personal_data(principal))


def all_in_scope(repo: Repository, principal: Principal, archive_ids: Sequence[str]) -> bool:
    """Whether every one of ``archive_ids`` is a catalogued archive (not one disposed of) the principal may see;
    their divisions read at once (:meth:`repository.catalog.store.Catalog.divisions_of`), not archive by archive."""
    divisions = repo.catalog.divisions_of(archive_ids, disposed=False)
    return all(a in divisions and access.may_see(principal, divisions[a]) for a in archive_ids)


def register(repo: Repository, principal: Principal, args: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Access-register entries, filtered; a principal below the national scope sees the uses of archives in
    its scope only (:func:`repository.services.uses.uses_in_scope`, as the register page)."""
    require(principal, Action.READ_REGISTER)
    where = UseFilter(username=args.get("username"), archive_id=args.get("archive"), action=args.get("action"))
    with _state(repo) as state:
        return [e.to_dict() for e in uses_in_scope(state, repo.catalog, principal, where, limit=args["limit"],
                                                   offset=args["offset"])]


def security_log(repo: Repository, principal: Principal, args: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Security-log entries about accounts in the principal's scope (the national scope: also names no account
    has), filtered, as the security-log page lists them."""
    require(principal, Action.READ_SECURITY_LOG)
    with _state(repo) as state:
        found = list_events(state, prefixes=access.scope_prefixes(principal), username=args.get("username"),
                            event=args.get("event"), limit=args["limit"], offset=args["offset"])
    return [e.to_dict() for e in found]


def audit_log(repo: Repository, principal: Principal, count: int) -> list[dict[str, Any]]:
    """The last ``count`` audit-log entries the principal may read: below the national scope, the events of
    archives in its scope (:func:`repository.services.auditlog.tail_in_scope`, as the audit page counts)."""
    require(principal, Action.READ_LOGS)
    out = []
    for line in auditlog.tail_in_scope(repo, principal, count):
        try:
            out.append(dict(line.entry))
        except ValueError:
            out.append({"raw": line.raw})
    return out


#: job kind -> what the principal must be allowed (a reconciliation: who may start it on the paper page)
JOB_ACTIONS = {"audit": Action.START_AUDIT, "reindex": Action.MAINTAIN, "paper": Action.INGEST}


def submit_job(repo: Repository, principal: Principal, body: object) -> dict[str, Any]:
    """Queue an audit, a reindex or a reconciliation. Below the national scope an audit names archives, all in
    scope. A reconciliation takes no parameters and covers the whole repository (each scope reads its part of
    the stored result); while one is queued or running, that one is answered, as on the paper page."""
    if not isinstance(body, dict) or body.get("kind") not in JOB_ACTIONS:
        raise Refused(400, "API-JOB-KIND", "api.job_kind", kinds=", ".join(JOB_ACTIONS))
    kind, params = body["kind"], body.get("params", {})
    if not isinstance(params, dict):
        raise Refused(400, "API-JOB-PARAMS", "api.job_params")
    require(principal, JOB_ACTIONS[kind])
    if kind == "paper":
        if params:
            raise Refused(400, "API-JOB-PARAMS", "api.job_params")
        return job_dict(paper_stored.start_job(repo.cfg, principal.username)[0])
    if kind == "audit" and not access.national(principal):
        archives = params.get("archives")
        if params.get("mode") != "archive" or not isinstance(archives, list) or not archives or not all(
                isinstance(a, str) for a in archives) or not all_in_scope(repo, principal, archives):
            raise Refused(400, "API-JOB-SCOPE", "api.job_scope")
    with JobQueue(repo.cfg) as queue:
        made = queue.submit(kind, params, user=principal.username)
        return job_dict(made, queued_ahead=queue.queued_ahead(made))


def job(repo: Repository, principal: Principal, job_id: str) -> dict[str, Any]:
    """A job of the principal's own (administrators: any job); another's is not found. ``no_worker``: it has been
    queued for more than 30 s and no ``hsar worker`` seems to run; ``queued_ahead``: how many queued jobs wait
    ahead of it (null when it is not queued)."""
    with JobQueue(repo.cfg) as queue:
        found = queue.get(job_id)
        if found is None or (principal.role != Role.ADMIN and found.username != principal.username):
            raise not_found()
        answer = job_dict(found, queue.no_worker(found), queue.queued_ahead(found))
    if not access.sees_personal_data(principal):  # a researcher's own job: the stored paths it names masked
        answer["params"], answer["result"] = _paths_masked(repo, found, (answer["params"], answer["result"]))
    if found.kind in OUTPUT_KINDS:  # what it offers now, as the job page lists it (none once no longer usable)
        answer["downloads"] = [{"name": name, "url": f"{PREFIX}/jobs/{found.id}/export/{quote(name)}"}
                               for name in transfer.export_files(repo, principal, found.id)]
    return answer


def _paths_masked(repo: Repository, found: Job, value: Any) -> Any:  # noqa: ANN401 - JSON-ready value
    """``value`` with every stored path in it (``data/...``: a scan a proposal job reads, the documents of an access
    copy) masked with the people of the job's archives, as the archive page shows them to the same user: a file
    name may hold a name (other values are the job's own: archive ids, counts, references)."""
    named = found.params.get("archives")
    ids = [a for a in named if isinstance(a, str)] if isinstance(named, list) else []
    by_archive = people.people_of(repo, ids) if ids else {}
    known = [person for archive_id in ids for person in by_archive.get(archive_id, [])]

    def walk(v: Any) -> Any:  # noqa: ANN401
        if isinstance(v, str):
            return people.masked_with(known, v) if v.startswith("data/") else v
        if isinstance(v, list | tuple):
            return type(v)(walk(x) for x in v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    return walk(value)


def job_dict(found: Job, no_worker: bool = False, queued_ahead: int | None = None) -> dict[str, Any]:
    """The job as recorded, whether it waits for a worker that does not seem to run (``no_worker``:
    :meth:`JobQueue.no_worker`; a job just submitted has not waited), and how many queued jobs wait ahead of it
    (``queued_ahead``, :meth:`JobQueue.queued_ahead`: None when it is not queued, or not looked up)."""
    return {**found.to_dict(), "no_worker": no_worker, "queued_ahead": queued_ahead}


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
