"""The test client closes what a WSGI server closes (tests/conftest.py): a file sent with send_file once the
response is read, and the request body it encoded for a large upload. Left open, both were reported as
ResourceWarnings in some later test when the garbage collector found them (issue 13): the paper page's access
copy (a spooled zip) and a register upload refused with 413 (the encoded body, a temporary file ``rb+``)."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask, request, send_file


def test_a_sent_file_and_a_large_request_body_are_closed(tmp_path: Path) -> None:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    opened: list[io.BufferedReader] = []
    (tmp_path / "a.bin").write_bytes(b"x" * 100)

    @app.get("/file")
    def file():  # noqa: ANN202
        opened.append(open(tmp_path / "a.bin", "rb"))  # noqa: SIM115 - send_file closes it with the response
        return send_file(opened[-1], mimetype="application/octet-stream")

    @app.post("/upload")
    def upload():  # noqa: ANN202
        return str(len(request.files["f"].read()))  # refused with 413 before this runs

    client = app.test_client()
    got = client.get("/file")
    assert got.data == b"x" * 100 and opened[0].closed
    refused = client.post("/upload", data={"f": (io.BytesIO(b"a" * 600_000), "big.csv")})
    assert refused.status_code == 413 and refused.request.environ["wsgi.input"].closed
