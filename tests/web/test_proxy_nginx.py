"""``hsar serve --https --proxy 127.0.0.1`` behind the README's nginx site, with TLS: a real nginx (Debian's
package; the Makefile installs it when missing and root) started by the test with the README's site and a
certificate of the test's own CA, in front of a real ``hsar serve`` (waitress). Clients come from different
loopback addresses (127.0.0.2, 127.0.0.3 …), so the proxy sees different clients."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from repository.home import init_home

README = Path(__file__).resolve().parents[2] / "README.md"
HSAR = str(Path(sys.executable).parent / "hsar")
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "proxy test password 1"

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)")


def readme_site() -> str:
    """The nginx site the README shows (its one ``nginx`` code block)."""
    blocks = re.findall(r"```nginx\n(.*?)```", README.read_text("utf-8"), re.S)
    assert len(blocks) == 1, "the README shows one nginx site"
    return blocks[0]


def _put(text: str, old: str, new: str) -> str:
    assert old in text, f"the README's nginx site no longer has {old!r}: update this test with it"
    return text.replace(old, new)


def _tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA of the test's own and a certificate for localhost / 127.0.0.1 it signed: (CA, chain, key)."""
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hsar proxy test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
          .not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "fullchain.pem", folder / "privkey.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + paths[0].read_bytes())
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def nginx_conf(folder: Path, *, http_port: int, https_port: int, upstream: int, chain: Path, key: Path) -> Path:
    """A whole nginx configuration: the README's site with this test's names, ports and certificate, inside
    the main and http blocks of a foreground nginx run by the test (its files in ``folder``)."""
    site = readme_site()
    site = _put(site, "    server 127.0.0.1:5000;\n    server 127.0.0.1:5001;\n", f"    server 127.0.0.1:{upstream};\n")
    site = _put(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = _put(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = _put(site, "archives.example.gov.cn", "localhost")
    site = _put(site, "/etc/ssl/hsar/fullchain.pem", str(chain))
    site = _put(site, "/etc/ssl/hsar/privkey.pem", str(key))
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                             "scgi"))
    conf = folder / "nginx.conf"
    conf.write_text(f"daemon off;\nmaster_process off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
                    f"events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n{temp}\n{site}\n}}\n", "utf-8")
    return conf


def _wait(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert proc.poll() is None, f"{what} stopped: {proc.stdout.read() if proc.stdout else ''}"
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.2)


@dataclass
class Site:
    https_port: int
    http_port: int
    server_port: int  # hsar serve itself
    context: ssl.SSLContext
    token: str  # an administrator's bearer token
    home: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("proxy")
    home = folder / "home"
    init_home(home)
    subprocess.run([HSAR, "--home", str(home), "user", "add", "boss", "--role", "admin", "--division", "000000",
                    "--password-stdin"], input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    token = subprocess.run([HSAR, "--home", str(home), "user", "token", "boss"], text=True, check=True,
                           capture_output=True).stdout.strip().splitlines()[-1]
    ca, chain, key = _tls(folder)
    server_port, http_port, https_port = free_port(), free_port(), free_port()
    env = {**os.environ, "HSAR_SECRET_KEY": "proxy-test-" + uuid.uuid4().hex}
    server = subprocess.Popen([HSAR, "--home", str(home), "serve", "--port", str(server_port), "--https",
                               "--proxy", "127.0.0.1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    conf = nginx_conf(folder, http_port=http_port, https_port=https_port, upstream=server_port, chain=chain, key=key)
    nginx = subprocess.Popen([str(NGINX), "-c", str(conf), "-p", str(folder)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        _wait(server_port, server, "hsar serve")
        _wait(https_port, nginx, "nginx")
        yield Site(https_port, http_port, server_port, ssl.create_default_context(cafile=str(ca)), token, home)
    finally:
        for proc in (nginx, server):
            proc.send_signal(signal.SIGTERM)
        for proc in (nginx, server):
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


Connect = Callable[[], http.client.HTTPConnection]


def via_proxy(site: Site, client: str) -> Connect:
    """Connections to nginx over TLS (verified against the test's CA) from the loopback address ``client``."""
    return lambda: http.client.HTTPSConnection("localhost", site.https_port, context=site.context, timeout=30,
                                               source_address=(client, 0))


def direct(site: Site, client: str) -> Connect:
    """Connections straight to ``hsar serve`` (no proxy) from ``client``."""
    return lambda: http.client.HTTPConnection("127.0.0.1", site.server_port, timeout=30, source_address=(client, 0))


def _get(connect: Connect, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    conn = connect()
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        cookies = "; ".join(v for k, v in response.getheaders() if k.lower() == "set-cookie")
        return response.status, {**dict(response.getheaders()), "set-cookie": cookies}, response.read().decode()
    finally:
        conn.close()


class Signer:
    """One browser's sign-in attempts: its session cookie and CSRF token from the sign-in page, then POSTs of
    a wrong password (the login throttle counts POSTs), each with ``extra`` headers. Each attempt tries an
    account name of its own: the lockout of a name after repeated failures is not what these tests count."""

    def __init__(self, connect: Connect, origin: str) -> None:
        self.connect, self.origin = connect, origin
        status, headers, body = _get(connect, "/login")
        assert status == 200
        match = TOKEN.search(body)
        assert match
        self.token = match.group(1)
        self.cookie = headers["set-cookie"].split(";", 1)[0]

    def attempt(self, extra: dict[str, str] | None = None) -> int:
        body = urllib.parse.urlencode({"username": f"guess-{uuid.uuid4().hex[:12]}", "password": "not the password", "csrf_token": self.token})
        conn = self.connect()
        try:
            conn.request("POST", "/login", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie,
                "Referer": f"{self.origin}/login", **(extra or {})})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()


def test_the_readme_site_serves_hsar_over_tls_with_secure_cookies(site: Site) -> None:
    status, headers, body = _get(via_proxy(site, "127.0.0.2"), "/login")
    assert status == 200 and 'name="csrf_token"' in body
    assert "Secure" in headers["set-cookie"] and "HttpOnly" in headers["set-cookie"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    status, headers, _ = _get(lambda: http.client.HTTPConnection("localhost", site.http_port, timeout=30), "/login")
    assert status == 301 and headers["Location"] == "https://localhost/login"  # plain HTTP: sent to HTTPS


def test_the_login_throttle_counts_each_client_behind_the_proxy(site: Site) -> None:
    origin = f"https://localhost:{site.https_port}"
    first = Signer(via_proxy(site, "127.0.0.2"), origin)
    assert [first.attempt() for _ in range(10)] == [401] * 10
    assert first.attempt() == 429
    # what a client says of itself is not believed: nginx sets X-Forwarded-For to the address it sees
    assert first.attempt({"X-Forwarded-For": "10.20.30.40"}) == 429
    # another client behind the same proxy is not throttled for the first one's attempts (without --proxy every
    # request would come from nginx's address, 127.0.0.1, and this one would be refused too)
    assert Signer(via_proxy(site, "127.0.0.3"), origin).attempt() == 401


def test_a_peer_other_than_the_proxy_cannot_pass_for_another_client(site: Site) -> None:
    # straight to hsar serve from 127.0.0.4: its X-Forwarded-* headers are dropped, every attempt counts for it
    signer = Signer(direct(site, "127.0.0.4"), f"http://127.0.0.1:{site.server_port}")
    codes = [signer.attempt({"X-Forwarded-For": f"10.0.0.{n}", "X-Forwarded-Proto": "https"}) for n in range(11)]
    assert codes == [401] * 10 + [429]


def test_an_upload_larger_than_nginx_default_limit_reaches_hsar(site: Site) -> None:
    """nginx refuses bodies over 1 MiB unless told otherwise: the README's site lets an ingest upload through
    (here 3 MiB, not a SIP: the job would reject it; what matters is that all of it arrived)."""
    data = os.urandom(3 * 1024 * 1024)
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"sips\"; filename=\"big.zip\"\r\n"
            "Content-Type: application/zip\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    conn = via_proxy(site, "127.0.0.5")()
    try:
        conn.request("POST", "/api/v1/ingest", body=body, headers={
            "Authorization": f"Bearer {site.token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = conn.getresponse()
        answer = response.read().decode()
    finally:
        conn.close()
    assert response.status in (200, 201, 202), answer
    spooled = [p for p in site.home.rglob("*") if p.is_file() and p.stat().st_size == len(data)]
    assert [p.read_bytes() == data for p in spooled] == [True], answer
