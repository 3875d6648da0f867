"""Adapters between the web application and the library: one module per area.

Views call these and nothing below them, so when ``repository.services`` (use-cases), ``repository.access``
and ``repository.accounts`` land, each area switches in one file: ``access`` (who may see what),
``users`` (login, accounts, the access register), ``archives`` (show an archive, open a document) and
``searching`` (a search within the user's scope).
"""
