"""A fake LLM provider: a real HTTP server on loopback for the official SDKs.

It speaks enough of two wire formats for `openai` and `anthropic` to work
unmodified against it: OpenAI Chat Completions (`POST /v1/chat/completions`)
and Anthropic Messages (`POST /v1/messages`). Each test scripts what comes
next with a queue of behaviours; when the queue is empty the server answers
with its default behaviour. Every request is recorded (path, headers, body,
arrival time) for assertions, and the server counts the requests it is
answering at once (`in_flight`, `max_in_flight`). `latency` delays every
answer and may be changed while the server runs.

    with FakeLLMServer() as server:
        server.script(server_error(), answer(GOOD_SPEC))
        ... OpenAI(base_url=server.openai_url, ...) ...
        assert server.count() == 2
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"


# A spec that validates: what a well-behaved model answers.
SAMPLE_SPEC: dict = {
    "name": "RSI mean reversion",
    "description": "Buy when RSI crosses above 30, exit when it crosses below 70.",
    "indicators": [{"id": "rsi", "kind": "rsi", "params": {"length": 14}}],
    "long": {
        "entry": {
            "type": "cross",
            "direction": "above",
            "left": {"type": "indicator", "id": "rsi"},
            "right": {"type": "number", "value": 30},
        },
        "exit": {
            "type": "cross",
            "direction": "below",
            "left": {"type": "indicator", "id": "rsi"},
            "right": {"type": "number", "value": 70},
        },
    },
    "risk": {"stop": {"type": "percent", "value": 2}},
}

# Parses as JSON but fails the spec model (an unknown indicator kind).
INVALID_SPEC: dict = {
    **SAMPLE_SPEC,
    "indicators": [{"id": "rsi", "kind": "relative_vigor_x", "params": {}}],
}


@dataclass(frozen=True)
class Behaviour:
    """What the server does with one request."""

    kind: str  # "answer" | "error" | "hang" | "refusal"
    content: Any = None  # answer: a dict or raw text; error: OpenAI's error code
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # hang: how long before answering anyway


def answer(content: dict | str) -> Behaviour:
    """A good reply: a dict is sent as the JSON object, a str as raw text."""
    return Behaviour("answer", content)


def prose_answer(spec: dict) -> Behaviour:
    """The JSON wrapped in chatter and a code fence, as chatty models do."""
    text = (
        "Sure! Here is the strategy you asked for:\n\n```json\n"
        f"{json.dumps(spec, indent=2)}\n```\n\nLet me know if you want changes."
    )
    return Behaviour("answer", text)


def error(
    status: int, headers: dict[str, str] | None = None, code: str | None = None
) -> Behaviour:
    """An HTTP error in the provider's own error body format (`code`: OpenAI's)."""
    return Behaviour("error", code, status=status, headers=headers or {})


def rate_limited(retry_after: float = 1) -> Behaviour:
    """429 with a Retry-After header (seconds)."""
    return error(429, {"retry-after": f"{retry_after:g}"})


def server_error() -> Behaviour:
    return error(500)


def unauthorized() -> Behaviour:
    return error(401)


def hang(seconds: float = 30.0) -> Behaviour:
    """Say nothing for `seconds` (past any sensible client timeout)."""
    return Behaviour("hang", seconds=seconds)


def refusal() -> Behaviour:
    """The model declines (OpenAI `refusal`, Anthropic stop_reason "refusal")."""
    return Behaviour("refusal")


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict
    at: float  # time.monotonic() on arrival


class FakeLLMServer:
    """Scriptable fake of the OpenAI and Anthropic HTTP APIs on 127.0.0.1."""

    def __init__(self, default: Behaviour | None = None, latency: float = 0.0):
        self.default = default or answer(SAMPLE_SPEC)
        self.latency = latency
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._httpd = _HTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), daemon=True
        )

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.base_url

    # -------------------------------------------------------------- scripting

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self._queue.extend(behaviours)

    def count(self, path: str | None = None) -> int:
        """How many requests arrived (optionally only on one path)."""
        with self._lock:
            return sum(1 for r in self.requests if path in (None, r.path))

    @contextmanager
    def _answering(self) -> Iterator[None]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def reset_peak(self) -> None:
        """Start counting `max_in_flight` again from the calls held right now."""
        with self._lock:
            self.max_in_flight = self.in_flight

    def _next(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else self.default

    # -------------------------------------------------------------- responses

    def respond(self, path: str, body: dict, behaviour: Behaviour):
        """(status, headers, JSON body) for one request; runs in a handler thread."""
        if self.latency:
            self._stopping.wait(self.latency)
        if behaviour.kind == "hang":
            self._stopping.wait(behaviour.seconds)
            behaviour = answer({})
        if behaviour.kind == "error":
            return behaviour.status, behaviour.headers, _error_body(path, behaviour)

        tokens_in = max(1, len(json.dumps(body)) // 4)
        number = next(self._ids)
        if path == ANTHROPIC_PATH:
            payload = _anthropic_message(body, behaviour, number, tokens_in)
        else:
            payload = _openai_completion(body, behaviour, number, tokens_in)
        return 200, {}, payload


def _openai_completion(body: dict, behaviour: Behaviour, number: int, tokens_in):
    content = behaviour.content
    text = content if isinstance(content, str) else json.dumps(content)
    message = {"role": "assistant", "content": text, "refusal": None}
    if behaviour.kind == "refusal":
        message = {"role": "assistant", "content": None, "refusal": "I can't help."}
    tokens_out = max(1, len(text or "") // 4)
    return {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [
            {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    }


def _anthropic_message(body: dict, behaviour: Behaviour, number: int, tokens_in):
    content = behaviour.content
    tools = body.get("tools") or [{}]
    if behaviour.kind == "refusal":
        blocks, stop_reason = [{"type": "text", "text": "I can't help."}], "refusal"
    elif isinstance(content, dict):
        tool_use = {"type": "tool_use", "id": f"toolu_fake_{number}"}
        tool_use.update(name=tools[0].get("name", "tool"), input=content)
        blocks, stop_reason = [tool_use], "tool_use"
    else:
        blocks, stop_reason = [{"type": "text", "text": content}], "end_turn"
    tokens_out = max(1, len(json.dumps(blocks)) // 4)
    return {
        "id": f"msg_fake_{number}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake-model"),
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
    }


def _error_body(path: str, behaviour: Behaviour) -> dict:
    message = f"fake provider error {behaviour.status}"
    if path == ANTHROPIC_PATH:
        kind = {401: "authentication_error", 429: "rate_limit_error"}
        error_type = kind.get(behaviour.status, "api_error")
        return {"type": "error", "error": {"type": error_type, "message": message}}
    error_body = {"message": message, "type": "fake_error", "code": behaviour.content}
    return {"error": error_body}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # A burst of clients connecting at once must not overflow the listen
    # backlog (the default is 5): dropped SYNs are retried a second later.
    request_queue_size = 256


def _handler_for(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive
        timeout = 60  # idle keep-alive connections close after this

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            body = json.loads(raw or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path.split("?")[0]
            if path not in (OPENAI_PATH, ANTHROPIC_PATH):
                self._send(404, {}, {"error": {"message": "no such route"}})
                return
            recorded = RecordedRequest(path, headers, body, time.monotonic())
            with server._answering():
                behaviour = server._next(recorded)
                status, extra, payload = server.respond(path, body, behaviour)
                self._send(status, extra, payload)

        def _send(self, status: int, headers: dict, payload: dict) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a timeout test): nothing to tell

        def log_message(self, format: str, *args) -> None:
            pass  # keep test output quiet

    return Handler
