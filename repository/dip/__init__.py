"""Access (利用): what the repository gives a reader of its archives, besides the pages that show them.

- :mod:`.people`: an archive's people (its household and its linked archives'), the names every masking of its
  record, hits and documents uses;
- :mod:`.research`: researchers' copies of documents (利用件), for users who never receive originals;
- :mod:`.copies`: access copies (利用副本, OAIS DIP): one zip of chosen documents, the description and a README,
  recorded in the access register.

A workflow package, beside ingest and audit: the use-cases of :mod:`repository.services` (the web and the CLI)
and the access-copy job of :mod:`repository.jobs` both call it.
"""
