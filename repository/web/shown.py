"""How many rows of a long list a page (and the API's figures behind it) shows at most: the rest are counted
on the page, and the command line lists them all. One place for these numbers, so a page that grows a list
of its own takes its bound from here. (At 200,000 archives an unbounded list made pages of 10 to 25 MB.)"""

from __future__ import annotations

#: archives due for an audit, on the audit page and in ``GET /api/v1/audit`` (never audited first, then the
#: longest unchecked; :func:`repository.services.stats.audit_overview`)
AUDIT_DUE = 100
#: archives whose retention has ended, on the disposal page (the longest due first, as
#: :func:`repository.services.disposal.due` orders them; ``hsar disposal due`` lists them all)
DISPOSAL_DUE = 200
