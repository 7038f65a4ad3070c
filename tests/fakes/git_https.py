"""A real git server over HTTPS on loopback: git's smart-HTTP CGI (`git http-backend`) behind a small TLS server
with a self-signed certificate. Clients trust it through `GIT_SSL_CAINFO` (`server.ca_file`).

Why HTTPS and not `git daemon` or plain `http://`: the cloud clone refuses every transport but https and ssh, and
these tests exercise that real path (policy, TLS verification, auth header) instead of a local-only exception.

    with GitHttpsServer(repos_root) as server:       # repos_root/<owner>/<name>.git are bare repositories
        url = server.url("acme/shop.git")            # https://127.0.0.1:PORT/acme/shop.git
        server.require_token("acme/private.git", "s3cret")   # that repo then needs Basic auth with this token
        server.hold(); ...; server.release()         # requests wait meanwhile (a clone that is "still running")
        server.redirect("acme/moved.git", "https://elsewhere/")   # that repo answers 301 to there
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GIT = shutil.which("git") or "git"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate (CA:TRUE, SAN 127.0.0.1 and localhost) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "perceo-test-git")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "git-server.pem"
    key_path = directory / "git-server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        return

    def do_GET(self) -> None:  # noqa: N802
        self._cgi(b"")

    def do_POST(self) -> None:  # noqa: N802
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._cgi(body)

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _authorized(self, repo: str) -> bool:
        token = self.server.tokens.get(repo)
        if token is None:
            return True
        expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
        return self.headers.get("Authorization") == expected

    def _cgi(self, body: bytes) -> None:
        path, _, query = self.path.partition("?")
        self.server.requests.append((self.command, path, self.headers.get("Authorization")))
        self.server.gate.wait(timeout=60)
        repo = path.lstrip("/").split(".git", 1)[0] + ".git"
        moved_to = self.server.redirects.get(repo)
        if moved_to is not None:
            self.send_response(301)
            self.send_header("Location", moved_to + path.lstrip("/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not self._authorized(repo):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        env = {
            "PATH": "/usr/bin:/bin",
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.server.root),
        }
        proc = subprocess.run([GIT, "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    tokens: dict[str, str]
    redirects: dict[str, str]
    requests: list[tuple[str, str, str | None]]
    gate: threading.Event


class GitHttpsServer:
    """Serves the bare repositories under `root` over HTTPS on 127.0.0.1 (a free port)."""

    def __init__(self, root: Path, cert_dir: Path | None = None) -> None:
        self.root = root
        cert_dir = cert_dir or root
        self.ca_file, key_file = make_certificate(cert_dir)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.root = root
        self._server.tokens = {}
        self._server.redirects = {}
        self._server.requests = []
        self._server.gate = threading.Event()
        self._server.gate.set()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="git-https", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def requests(self) -> list[tuple[str, str, str | None]]:
        return self._server.requests

    def url(self, repo: str) -> str:
        return f"https://127.0.0.1:{self.port}/{repo}"

    def require_token(self, repo: str, token: str) -> None:
        self._server.tokens[repo] = token

    def redirect(self, repo: str, location: str) -> None:
        """Every request for `repo` gets a 301 to `location` + its path."""
        self._server.redirects[repo] = location

    def hold(self) -> None:
        """Requests wait (up to a minute) until `release()`: keeps a clone, and so a workflow, running."""
        self._server.gate.clear()

    def release(self) -> None:
        self._server.gate.set()

    def start(self) -> GitHttpsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GitHttpsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def publish_repository(work_tree: Path, root: Path, name: str) -> Path:
    """A bare copy of the git repository at `work_tree` as `root/name` (e.g. `acme/shop.git`), ready to serve."""
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([GIT, "clone", "--quiet", "--bare", str(work_tree), str(target)], check=True, capture_output=True)
    return target
