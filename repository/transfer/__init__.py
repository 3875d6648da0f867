"""Transfer to a higher-level archive (移交) and back: transfer packages, the transfer list (移交清单), and
receiving a package into another repository (:mod:`.export`, :mod:`.lists`, :mod:`.receive`, :mod:`.verify`).

A transfer package is a BagIt 1.0 bag (RFC 8493, SHA-512 manifests) per archive whose payload is the
archive's OCFL object as stored (``data/object/``: every version's content, descriptive XML, PREMIS, the
four-property reports and the version signatures) and a PREMIS document with the export event
(``data/transfer/premis.xml``); the layout is spelled once, in :mod:`.layout`.
"""
