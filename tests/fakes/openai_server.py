"""A fake OpenAI-compatible HTTP server on loopback, for driving the real `openai` client in tests.

It serves `POST /v1/chat/completions` (and `/chat/completions`) from a scripted queue of `Reply`s, or from
a responder function that picks a reply from the request (by schema name, by a marker in the prompt).
Every request is recorded (path, headers, JSON body) for assertions.

    fake.enqueue(Reply.rate_limited(retry_after="2"), Reply.json({"name": "checkout"}))
    fake.respond_with(lambda req: Reply.json(ANSWERS[req.schema_name]))
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `content` is the assistant message for a 200; `body` replaces the whole body."""

    status: int = 200
    content: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    finish_reason: str = "stop"
    refusal: str | None = None
    prompt_tokens: int = 120
    completion_tokens: int = 30

    @classmethod
    def json(cls, value: Any, *, prompt_tokens: int = 120, completion_tokens: int = 30) -> Reply:
        """A 200 whose message content is `value` as JSON."""
        return cls(content=json.dumps(value), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    @classmethod
    def text(cls, content: str, *, finish_reason: str = "stop") -> Reply:
        """A 200 whose message content is `content` verbatim (malformed JSON, prose, fences)."""
        return cls(content=content, finish_reason=finish_reason)

    @classmethod
    def truncated(cls, value: Any, *, keep: float = 0.6) -> Reply:
        """A 200 whose JSON content was cut off at the token limit (`finish_reason: length`)."""
        whole = json.dumps(value)
        return cls(content=whole[: max(1, int(len(whole) * keep))], finish_reason="length")

    @classmethod
    def rate_limited(cls, *, retry_after: str | None = None, retry_after_ms: str | None = None) -> Reply:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        return cls(status=429, body=_error_body("Rate limit reached", "rate_limit_exceeded"), headers=headers)

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        return cls(status=status, body=_error_body("The server had an error", "server_error"))

    @classmethod
    def error(
        cls, status: int, message: str, kind: str = "invalid_request_error", *, param: str | None = None
    ) -> Reply:
        """An error answer as OpenAI writes it; `param` names the request parameter it is about."""
        return cls(status=status, body=_error_body(message, kind, param))

    @classmethod
    def unsupported_format(cls, kind: str = "json_schema") -> Reply:
        """OpenAI's 400 for a model that does not take this `response_format` type."""
        return cls.error(
            400, f"Invalid parameter: 'response_format' of type '{kind}' is not supported.", param="response_format"
        )

    def after(self, delay_s: float) -> Reply:
        """The same reply, sent only after `delay_s` (longer than the client timeout → the client times out)."""
        return replace(self, delay_s=delay_s)


def _error_body(message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    #: Header names in lower case.
    headers: dict[str, str]
    raw: bytes
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def schema_name(self) -> str | None:
        try:
            return str(self.body["response_format"]["json_schema"]["name"])
        except (KeyError, TypeError):
            return None

    @property
    def schema(self) -> dict[str, Any] | None:
        try:
            return dict(self.body["response_format"]["json_schema"]["schema"])
        except (KeyError, TypeError):
            return None

    @property
    def response_format_type(self) -> str | None:
        """`json_schema`, `json_object`, or None when the request asks for no format."""
        try:
            return str(self.body["response_format"]["type"])
        except (KeyError, TypeError):
            return None

    @property
    def system_prompt(self) -> str:
        systems = [m for m in self.messages if m.get("role") == "system"]
        return str(systems[0].get("content", "")) if systems else ""

    @property
    def user_prompt(self) -> str:
        """The content of the last user message."""
        users = [m for m in self.messages if m.get("role") == "user"]
        return str(users[-1].get("content", "")) if users else ""


Responder = Callable[[RecordedRequest], Reply]


class FakeOpenAI:
    """The server. Use as a context manager, or the `fake_openai` fixture (`tests/fakes/plugin.py`)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._queue: deque[Reply] = deque()
        self._responder: Responder | None = None
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._completions = 0

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to configure as the LLM base URL (with `/v1`, as OpenAI's)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next chat completions with these replies, in order (before any responder)."""
        with self._lock:
            self._queue.extend(replies)

    def respond_with(self, responder: Responder | None) -> None:
        """Answer chat completions the queue does not cover by calling `responder(request)`."""
        with self._lock:
            self._responder = responder

    @property
    def pending(self) -> int:
        """Scripted replies not used yet."""
        with self._lock:
            return len(self._queue)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def close(self) -> None:
        self._released.set()  # wake delayed replies so their threads end now
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            if request.method != "POST" or request.path not in CHAT_PATHS:
                return Reply.error(404, f"fake server: no route {request.method} {request.path}", "not_found")
            if self._queue:
                return self._queue.popleft()
            responder = self._responder
        if responder is not None:
            return responder(request)
        # 400 is not retried by the client: an unscripted call fails the test at once with this message.
        return Reply.error(400, "fake server: no scripted reply left for this request")

    def _completion_body(self, request: RecordedRequest, reply: Reply) -> dict[str, Any]:
        with self._lock:
            self._completions += 1
            number = self._completions
        model = request.body.get("model", "unknown") if isinstance(request.body, dict) else "unknown"
        return {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": reply.refusal},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms per reply.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self._handle()

        def do_GET(self) -> None:  # noqa: N802
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = None
            request = RecordedRequest(
                method=self.command,
                path=self.path.split("?", 1)[0],
                headers={k.lower(): v for k, v in self.headers.items()},
                raw=raw,
                body=body,
            )
            reply = fake._next_reply(request)
            if reply.delay_s and fake._released.wait(reply.delay_s):
                return  # the server is closing
            payload = reply.body if reply.status != 200 or reply.body is not None else None
            if payload is None:
                payload = fake._completion_body(request, reply)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass

    return Handler
