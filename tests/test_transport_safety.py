"""Credentials travel only to the configured host, over verified TLS."""

import http.server
import ssl
import threading
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pipelines.config import build_config
from pipelines.run import RunFailed, run_pipeline


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Handler that records each request's path and Authorization header and returns 200
    with no projects."""

    requests: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self):
        self.requests.append((self.path, self.headers.get("Authorization")))
        body = b'{"links": [], "results": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "server.pem", tmp_path / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path):
    RecordingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_untrusted_certificate_rejected(tls_server, tmp_path):
    port = tls_server.server_address[1]
    config = build_config(
        base_url=f"https://127.0.0.1:{port}",
        projects="*",
        public_key="public",
        private_key="private-key-value",
    )

    with pytest.raises(RunFailed, match="CERTIFICATE_VERIFY_FAILED"):
        run_pipeline(config, tmp_path / "tls.duckdb", pipelines_dir=str(tmp_path / "dlt"))

    assert RecordingHandler.requests == []  # the handshake failed before any request


class HostileAtlasHandler(http.server.BaseHTTPRequestHandler):
    """An Atlas look-alike whose `next` links and redirects point at another host."""

    decoy_url = ""
    project_id = "5f4c0a1b2c3d4e5f6a7b8c9d"
    paths: ClassVar[list[str]] = []

    def do_GET(self):
        self.paths.append(self.path)
        if self.path.startswith("/api/atlas/v2/groups?") and "pageNum=1&" in self.path:
            body = {
                "results": [{"id": self.project_id, "name": "p", "orgId": self.project_id}],
                "links": [{"rel": "next", "href": f"{self.decoy_url}/api/atlas/v2/groups"}],
            }
            self._json(200, body)
        elif self.path.startswith("/api/atlas/v2/groups?"):
            self._json(200, {"results": [], "links": [{"rel": "self", "href": "x"}]})
        else:
            self.send_response(302)
            self.send_header("Location", f"{self.decoy_url}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _json(self, status, body):
        data = __import__("json").dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _serve(host, handler):
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_links_and_redirects_never_leave_host(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
    RecordingHandler.requests = []
    HostileAtlasHandler.paths = []
    decoy = _serve("127.0.0.2", RecordingHandler)
    hostile = _serve("127.0.0.1", HostileAtlasHandler)
    HostileAtlasHandler.decoy_url = f"http://127.0.0.2:{decoy.server_address[1]}"
    config = build_config(
        base_url=f"http://127.0.0.1:{hostile.server_address[1]}",
        projects="*",
        public_key="public",
        private_key="private-key-value",
        items_per_page=1,
    )
    try:
        report = run_pipeline(config, tmp_path / "hostile.duckdb", pipelines_dir=str(tmp_path))
    finally:
        hostile.shutdown()
        decoy.shutdown()

    assert RecordingHandler.requests == []  # nothing, credentials included, reached the decoy
    assert any("pageNum=2" in path for path in HostileAtlasHandler.paths)
    assert report.status == "partial"
    assert "HTTP 302" in report.counters.failures[0]


def _proxy_config(base_url):
    return build_config(
        base_url=base_url, projects="*", public_key="public", private_key="private-key-value"
    )


def test_proxy_from_environment_carries_every_request(tmp_path, monkeypatch):
    # The client reads the proxy variables once per host, and they must still apply.
    RecordingHandler.requests = []
    proxy = _serve("127.0.0.1", RecordingHandler)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    # Port 9 on loopback has no server, so only the proxy can respond for it.
    config = _proxy_config("http://127.0.0.1:9")
    try:
        report = run_pipeline(config, tmp_path / "proxy.duckdb", pipelines_dir=str(tmp_path))
    finally:
        proxy.shutdown()

    assert report.status == "succeeded"
    assert [path for path, _ in RecordingHandler.requests] == [
        "http://127.0.0.1:9/api/atlas/v2/groups?pageNum=1&itemsPerPage=500&includeCount=false"
    ]


def test_no_proxy_host_is_reached_directly(tmp_path, monkeypatch):
    RecordingHandler.requests = []
    HostileAtlasHandler.paths = []
    proxy = _serve("127.0.0.1", HostileAtlasHandler)
    atlas = _serve("127.0.0.1", RecordingHandler)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("no_proxy", raising=False)
    config = _proxy_config(f"http://127.0.0.1:{atlas.server_address[1]}")
    try:
        report = run_pipeline(config, tmp_path / "direct.duckdb", pipelines_dir=str(tmp_path))
    finally:
        proxy.shutdown()
        atlas.shutdown()

    assert report.status == "succeeded"
    assert HostileAtlasHandler.paths == []
    assert [path for path, _ in RecordingHandler.requests] == [
        "/api/atlas/v2/groups?pageNum=1&itemsPerPage=500&includeCount=false"
    ]
