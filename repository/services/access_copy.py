"""Use-case: an access copy (利用副本, OAIS DIP) of an archive for a reader (:mod:`repository.dip.copies`): the
command line writes it at once (``hsar access-copy``); the web checks the request (:func:`check_request`) and
queues an ``access-copy`` job, whose zip the job page offers. Both ask for the review of the scans a masked copy
leaves out (:func:`proposal_asker`)."""

from __future__ import annotations

from ..dip.copies import AccessCopy, CopyRequest, access_copy_to, check_request, write_access_copy
from ..jobs.proposals import proposal_asker

__all__ = ["AccessCopy", "CopyRequest", "access_copy_to", "check_request", "proposal_asker", "write_access_copy"]
