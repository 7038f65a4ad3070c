"""Fake GA4, Mixpanel and Amplitude export servers on one loopback port, for driving the real provider clients
(httpx over real HTTP) in tests. They serve the real response shapes from data the test puts in, check
credentials the way the providers do, and play scripted faults.

- Mixpanel `GET /api/2.0/export`: Basic auth (service account) + `project_id`; one day (`from_date` = `to_date`)
  of JSON lines from `mixpanel_events[day]` (`limit` honoured), chunked.
- Amplitude `GET /api/2/export?start=YYYYMMDDTHH&end=...`: Basic auth (api key, secret key); a zip with one gzipped
  JSON-lines member per hour that has events (`amplitude_hours["YYYYMMDDTHH"]`); 404 when there is none; 400 when
  the range spans more than `amplitude_max_hours` hours.
- GA4 `POST /token` (JWT-bearer grant: the assertion's signature is checked with `ga4_public_key`) and
  `POST /v1beta/properties/{id}:runReport` (Bearer token; rows of `ga4_rows` in the date range, offset/limit,
  `rowCount`; 403 PERMISSION_DENIED for another property).

Faults: `fault(path_prefix, Fault(...))` queues one for the next request to that path: a status (429 with
Retry-After, 5xx), or a body cut off after some lines (`truncate_after`: the connection closes mid-body).
Every request is recorded (method, path, query) in `requests`.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import threading
import zipfile
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MIXPANEL_EXPORT = "/api/2.0/export"
AMPLITUDE_EXPORT = "/api/2/export"
GA4_TOKEN = "/token"
GA4_REPORT = "/v1beta/properties/"


@dataclass(frozen=True)
class Fault:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    #: Serve a 200 whose body stops (connection closed) after this many lines (Mixpanel) or bytes (Amplitude).
    truncate_after: int | None = None


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]


class FakeProviders:
    def __init__(self) -> None:
        self.mixpanel_auth = ("sa-user", "sa-secret")
        self.mixpanel_project = "1234"
        self.mixpanel_events: dict[str, list[dict[str, Any]]] = {}
        self.mixpanel_extra_lines: dict[str, list[str]] = {}
        self.amplitude_auth = ("amp-key", "amp-secret")
        self.amplitude_hours: dict[str, list[dict[str, Any]]] = {}
        self.amplitude_broken_hours: set[str] = set()
        self.amplitude_max_hours = 24 * 7
        self.ga4_property = "555"
        self.ga4_public_key: Any = None
        self.ga4_rows: list[tuple[str, str, int, int, int]] = []
        self.ga4_token = "ya29.fake-token"
        self.requests: list[Seen] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-providers", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeProviders:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def fault(self, path_prefix: str, *faults: Fault) -> None:
        with self._lock:
            self._faults.setdefault(path_prefix, deque()).extend(faults)

    def calls(self, path_prefix: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            for prefix, queue in self._faults.items():
                if path.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    # -- the handler

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(Seen(method, parts.path, query))
                fault = fake._next_fault(parts.path)
                if fault is not None and fault.status:
                    self._send(fault.status, b'{"error": "scripted"}', "application/json", fault.headers)
                    return
                if parts.path == MIXPANEL_EXPORT:
                    self._mixpanel(query, fault)
                elif parts.path == AMPLITUDE_EXPORT:
                    self._amplitude(query, fault)
                elif parts.path == GA4_TOKEN:
                    self._ga4_token(body)
                elif parts.path.startswith(GA4_REPORT) and parts.path.endswith(":runReport"):
                    self._ga4_report(parts.path, body)
                else:
                    self._send(404, b"{}", "application/json")

            # -- Mixpanel

            def _mixpanel(self, query: dict[str, list[str]], fault: Fault | None) -> None:
                if not self._basic(fake.mixpanel_auth):
                    self._send(401, b'{"error": "Invalid service account credentials"}', "application/json")
                    return
                if query.get("project_id") != [fake.mixpanel_project]:
                    self._send(403, b'{"error": "service account has no access to this project"}', "application/json")
                    return
                day = query["from_date"][0]
                lines = [json.dumps(e) for e in fake.mixpanel_events.get(day, [])] + fake.mixpanel_extra_lines.get(
                    day, []
                )
                if "limit" in query:
                    lines = lines[: int(query["limit"][0])]
                if fault is not None and fault.truncate_after is not None:
                    head = "".join(line + "\n" for line in lines[: fault.truncate_after]).encode()
                    self._cut_off(head, declared=len(head) + 1000, content_type="text/plain")
                    return
                self._chunked("".join(line + "\n" for line in lines).encode(), "text/plain")

            # -- Amplitude

            def _amplitude(self, query: dict[str, list[str]], fault: Fault | None) -> None:
                if not self._basic(fake.amplitude_auth):
                    self._send(401, b"Invalid API key or secret key", "text/plain")
                    return
                start, end = _hour_ms(query["start"][0]), _hour_ms(query["end"][0])
                if end < start:
                    self._send(400, b"start after end", "text/plain")
                    return
                hours = [_hour_text(t) for t in range(start, end + 1, 3_600_000)]
                if len(hours) > fake.amplitude_max_hours:
                    self._send(400, b"Raw data files were too large to export", "text/plain")
                    return
                with_data = [h for h in hours if fake.amplitude_hours.get(h) or h in fake.amplitude_broken_hours]
                if not with_data:
                    self._send(404, b"", "text/plain")
                    return
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w") as archive:
                    for hour in with_data:
                        name = f"1234/1234_{hour[:8]}_{hour[-2:]}#0.json.gz"
                        if hour in fake.amplitude_broken_hours:
                            archive.writestr(name, b"\x1f\x8b\x08\x00 this is not gzip at all")
                            continue
                        text = "".join(json.dumps(e) + "\n" for e in fake.amplitude_hours.get(hour, []))
                        archive.writestr(name, gzip.compress(text.encode()))
                data = buffer.getvalue()
                if fault is not None and fault.truncate_after is not None:
                    self._cut_off(data[: fault.truncate_after], declared=len(data), content_type="application/zip")
                    return
                self._send(200, data, "application/zip")

            # -- GA4

            def _ga4_token(self, body: bytes) -> None:
                from cryptography.hazmat.primitives import hashes
                from cryptography.hazmat.primitives.asymmetric import padding

                form = parse_qs(body.decode())
                assertion = (form.get("assertion") or [""])[0]
                try:
                    header, payload, signature = assertion.split(".")
                    fake.ga4_public_key.verify(
                        _unb64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
                    )
                    claims = json.loads(_unb64(payload))
                    ok = (
                        form.get("grant_type") == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
                        and "analytics" in claims["scope"]
                    )
                except Exception:
                    ok = False
                if not ok:
                    self._send(
                        400,
                        b'{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}',
                        "application/json",
                    )
                    return
                answer = {"access_token": fake.ga4_token, "expires_in": 3599, "token_type": "Bearer"}
                self._send(200, json.dumps(answer).encode(), "application/json")

            def _ga4_report(self, path: str, body: bytes) -> None:
                if self.headers.get("Authorization") != f"Bearer {fake.ga4_token}":
                    self._send(401, b'{"error": {"code": 401, "status": "UNAUTHENTICATED"}}', "application/json")
                    return
                prop = path[len(GA4_REPORT) :].split(":")[0]
                if prop != fake.ga4_property:
                    error = {
                        "error": {
                            "code": 403,
                            "message": "User does not have sufficient permissions for this property.",
                            "status": "PERMISSION_DENIED",
                        }
                    }
                    self._send(403, json.dumps(error).encode(), "application/json")
                    return
                request = json.loads(body)
                (dates,) = request["dateRanges"]
                first, last = dates["startDate"].replace("-", ""), dates["endDate"].replace("-", "")
                rows = [r for r in fake.ga4_rows if first <= r[0] <= last]
                offset, limit = int(request.get("offset", 0)), int(request.get("limit", 10_000))
                page = rows[offset : offset + limit]
                answer = {
                    "dimensionHeaders": [{"name": "date"}, {"name": "pagePath"}],
                    "metricHeaders": [{"name": m["name"], "type": "TYPE_INTEGER"} for m in request["metrics"]],
                    "rows": [
                        {
                            "dimensionValues": [{"value": d}, {"value": p}],
                            "metricValues": [{"value": str(v)}, {"value": str(u)}, {"value": str(s)}],
                        }
                        for d, p, v, u, s in page
                    ],
                    "rowCount": len(rows),
                    "metadata": {"currencyCode": "USD", "timeZone": "Etc/UTC"},
                    "propertyQuota": {"tokensPerDay": {"consumed": 1, "remaining": 199_999}},
                    "kind": "analyticsData#runReport",
                }
                if not page:
                    del answer["rows"]
                self._send(200, json.dumps(answer).encode(), "application/json")

            # -- plumbing

            def _basic(self, expected: tuple[str, str]) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return False
                return base64.b64decode(header[6:]).decode() == f"{expected[0]}:{expected[1]}"

            def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _chunked(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(body), 4096):
                    chunk = body[start : start + 4096]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

            def _cut_off(self, head: bytes, *, declared: int, content_type: str) -> None:
                """Promise `declared` bytes, send `head`, then drop the connection: a transfer that breaks off."""
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(declared))
                self.end_headers()
                self.wfile.write(head)
                self.wfile.flush()
                self.close_connection = True

        return Handler


def _hour_ms(text: str) -> int:
    import datetime as dt

    return int(dt.datetime.strptime(text, "%Y%m%dT%H").replace(tzinfo=dt.UTC).timestamp() * 1000)


def _hour_text(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y%m%dT%H")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
