"""What the JSON API answers for the statistics and audit pages: the same service calls the pages make
(:func:`repository.services.stats.statistics`, :func:`~repository.services.stats.audit_overview`), within the
token user's division scope, with the same role checks (:mod:`repository.access`), turned into JSON values.
Row labels are the statistics page's own (:func:`..views.stats.row_label`), in the caller's language."""

from __future__ import annotations

from typing import Any

from ... import codes, messages
from ...catalog.statistics import AuditRun
from ...divisions import tree_for
from ...home import Repository
from ...services import paper_stored
from ...services import stats as service
from .. import shown
from ..gateway import access
from ..gateway.access import Action, Principal
from ..views.stats import row_label
from .adapters import iso, not_found, require


def statistics(repo: Repository, principal: Principal, lang: str) -> dict[str, Any]:
    """Every table of the statistics page (:data:`service.TABLES`, in page order) for ``principal``'s scope:
    each row's raw value (a division code, a type code, a PUID …), name, label, depth below the top shown and
    its numbers by column. Counted as the page's CSV downloads are (waiting for a recount when one runs)."""
    require(principal, Action.SEARCH)
    tables = service.statistics(repo, access.scope_prefixes(principal))
    known = tree_for(repo.cfg).get(principal.division)
    name = messages.text("api_more.national", lang) if access.national(principal) \
        else known.name if known else principal.division
    return {"scope": {"division": principal.division, "name": name},
            "order": list(service.TABLES),
            "tables": {key: {"title": messages.text(f"web_stats.table.{key}", lang), "columns": list(table.columns),
                             "rows": [{"value": row.value, "name": row.name, "label": row_label(key, row),
                                       "depth": row.depth, "numbers": dict(zip(table.columns, row.numbers, strict=True))}
                                      for row in table.rows]}
                       for key, table in tables.items()}}


def _run(run: AuditRun, lang: str) -> dict[str, Any]:
    return {"archive_id": run.archive_id, "version": run.version, "started": iso(run.started),
            "finished": iso(run.finished), "result": run.result, "files_checked": run.files_checked,
            "bytes_checked": run.bytes_checked, "repaired_from": run.repaired_from,
            "issues": [{"code": code, "text": codes.explanation(code, lang)} for code in run.codes]}


def audits(repo: Repository, principal: Principal, lang: str) -> dict[str, Any]:
    """The audit page for ``principal`` (auditors, archivists, administrators; others 403): the newest runs,
    the failed runs and the repairs (each issue code explained in ``lang``, a repair with the copy it came
    from), what is due (``due_total`` archives; ``due`` the longest due of them, never audited first), the audit
    log's verification, the replicas and the report names in scope."""
    require(principal, Action.AUDIT)
    o = service.audit_overview(repo, principal, due_shown=shown.AUDIT_DUE)
    log = o.log.to_dict(lang) | ({} if o.national else {"entries": None, "head": None, "beyond_head": None})
    return {"log": log,
            "runs": [_run(r, lang) for r in o.runs], "failures": [_run(r, lang) for r in o.failures],
            "repairs": [_run(r, lang) for r in o.repairs],
            "due": [{"archive_id": d.archive_id, "last_checked": iso(d.last_checked)} for d in o.due],
            "due_total": o.due_total, "interval_days": o.interval_days,
            "replicas": [{"label": r.label, "root": r.root, "usable": r.usable, "last_copy": iso(r.last_copy),
                          "copies": r.copies if o.national else None} for r in o.replicas],
            "reports": o.reports if access.may(principal, Action.READ_REPORTS) else []}


def paper(repo: Repository, principal: Principal, lang: str, args: dict[str, Any]) -> dict[str, Any]:
    """The dual-track reconciliation page (``/paper``) for ``principal`` (auditors, archivists,
    administrators; others 403): the latest stored result within the division scope (counts per code rolled up
    the division tree, totals, the worklist a page at a time, messages in ``lang``), when and by whom it was
    made and whether it is out of date. ``division`` narrows the worklist to a subtree of the scope; a
    division outside the scope does not exist for the caller (404). ``stored`` is False until a reconciliation
    has been stored (the ``paper`` job)."""
    require(principal, Action.READ_REPORTS)
    scope = access.scope_prefixes(principal)
    division = args.get("division")
    if division and not access.division_in_scope(principal, division):
        raise not_found()  # not a division code, or one outside the scope
    per_page = args["per_page"]
    page = paper_stored.stored_page(repo, scope, tree_for(repo.cfg), page=args["page"], per_page=per_page,
                                    division=division, lang=lang)
    if page is None:
        return {"stored": False, "made": None, "stale": None, "clean": True,
                "totals": dict.fromkeys(paper_stored.CODES, 0), "register_rows": 0, "electronic_items": 0,
                "divisions": [], "findings": [], "count": 0, "page": 1, "per_page": per_page, "pages": 1}
    made = page.made
    return {"stored": True,
            "made": {"at": iso(made.made_at), "started_by": made.started_by, "job_id": made.job_id},
            "stale": {"register_imported_at": iso(page.stale_since), "catalogue_changed": page.catalogue_changed},
            "clean": page.clean, "totals": page.totals, "register_rows": page.register_rows,
            "electronic_items": page.electronic_items,
            "divisions": [d.to_dict() for d in page.divisions],
            "findings": page.findings, "count": page.count, "page": page.page, "per_page": per_page,
            "pages": page.pages}
