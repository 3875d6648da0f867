"""Who may ingest a SIP into which archive (接收的权限): the one decision the upload (the ingest page and the
API) and the ingest job's worker both ask, each through :func:`check_scope`.

A SIP is written into the archive its identifier names: a supplement (补充包) becomes that archive's next
version. So the uploader must be allowed (:func:`repository.access.may_ingest_into`) to ingest into the
division its descriptive metadata declares and, when the repository already knows that identifier (an
archive catalogued, or one disposed of: its tombstone's division), into that archive's division as well.
An archive of another division is therefore never extended. The two refusals share a code (ING-SCOPE) but
not their words: a declared division outside the scope is named (it is the uploader's own input), while a
held archive's division is not: the refusal says only that the identifier names an archive outside the
uploader's scope. That the identifier is taken cannot be hidden (identifiers are unique), but where another
division's archive lies, and anything of it (its division, volumes, items, type or files), is not told, as
the ingest's own decisions (ING001-ING006, DSP005) tell nothing of it either.

A supplement declaring another division than its archive's, both inside the scope, is not refused here: an
archive does not move by a supplement (:func:`repository.descriptive.merge` keeps its division), and that is
the pipeline's business, not an access question.
"""

from __future__ import annotations

from .. import access
from ..access import Principal, Role
from ..divisions import tree_for
from ..errors import IngestError
from ..home import Repository

#: the scope of a principal who may do nothing: an uploader whose account is gone or disabled
NOBODY = ""


class OutOfScope(IngestError):
    """A SIP describes (or extends) an archive outside the ingesting principal's division scope: refused
    whole, nothing queued or written. ``division`` and ``scope`` are the codes. The message names the scope
    and, when ``held`` is false (the SIP's declared division is the one refused), that division; when
    ``held`` is true (the archive its identifier names is held in another division) it names no division:
    neither the code nor the name of another division's archive is in the message or its parameters."""

    code = "ING-SCOPE"

    def __init__(self, sip: str, division: str, scope: str, *, named_division: str, named_scope: str,
                 held: bool = False) -> None:
        if held:
            super().__init__(msgid="ingest.out_of_scope_held", sip=sip, scope=named_scope)
        else:
            super().__init__(msgid="ingest.out_of_scope", sip=sip, division=named_division, scope=named_scope)
        self.sip, self.division, self.scope, self.held = sip, division, scope, held


def held_division(repo: Repository, identifier: str | None) -> str | None:
    """The division of the archive ``identifier`` the catalogue knows, catalogued or disposed of; else None."""
    if not identifier:
        return None
    return repo.catalog.divisions_of([identifier]).get(identifier)


def refusing_division(repo: Repository, principal: Principal, identifier: str | None,
                      division: str | None) -> str | None:
    """The division that keeps ``principal`` from ingesting a SIP declaring ``division`` for the archive
    ``identifier``: the declared one first, then the held archive's; None when the SIP may be ingested
    (a package whose description could not be read, both None, is left to the ingest's validation)."""
    held = held_division(repo, identifier)
    for code in (division, held):
        if code is not None and not access.may_ingest_into(principal, code):
            return code
    return None


def _named(repo: Repository, code: str) -> str:
    known = tree_for(repo.cfg).get(code) if code else None
    return f"{known.name} {code}" if known else (code or "-")


def check_scope(repo: Repository, principal: Principal, sip: str, identifier: str | None,
                division: str | None) -> None:
    """Raise :class:`OutOfScope` (the SIP named ``sip`` in the message) when :func:`refusing_division`
    finds a division the SIP may not be ingested into: named when it is the SIP's declared one, not named
    when it is only the held archive's."""
    refusing = refusing_division(repo, principal, identifier, division)
    if refusing is not None:
        held = refusing != division
        raise OutOfScope(sip, refusing, principal.division, held=held,
                         named_division="" if held else _named(repo, refusing),
                         named_scope=_named(repo, principal.division))


def current_principal(repo: Repository, username: str | None) -> Principal:
    """The account ``username`` as it is now (its role and scope may have changed since it uploaded); one that
    is gone or disabled, or no account at all, is a principal who may ingest nothing."""
    from ..accounts.users import get_user
    from ..state.db import open_state

    user = None
    if username:
        with open_state(repo.cfg.state_url) as state:
            user = get_user(state, username)
    if user is None or not user.active:
        return Principal(username or "", Role.RESEARCHER, NOBODY)
    return user.principal
