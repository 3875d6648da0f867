"""Dual-track reconciliation (双轨制核对) as a workflow: the paper register against the electronic items of the
whole repository, computed once (:mod:`.compute`: the catalogue's item rows read by SQL, the store for the
scanned pages of matched items) and kept as a derived report in the home (:mod:`.stored`), which every
user's page then reads within their division scope.

Layer: a workflow beside ingest and audit (the ``paper`` job of :mod:`repository.jobs` runs it; the
use-cases of :mod:`repository.services.paper` read it). The pure rules are :mod:`.reconcile`.
"""
