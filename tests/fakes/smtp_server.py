"""A small real SMTP server on loopback, for tests that send mail.

It speaks enough of RFC 5321 for smtplib (EHLO/HELO, AUTH PLAIN and LOGIN,
MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) and keeps every
message it accepts. ``refuse_recipients`` makes it answer RCPT with a 550.
"""

from __future__ import annotations

import base64
import email
import email.policy
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage


@dataclass
class ReceivedMail:
    """One accepted message: envelope and parsed content."""

    sender: str
    recipients: list[str]
    raw: bytes
    login: str | None = None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


@dataclass
class _State:
    messages: list[ReceivedMail] = field(default_factory=list)
    refuse_recipients: bool = False
    credentials: tuple[str, str] | None = None
    arrived: threading.Condition = field(default_factory=threading.Condition)


class _Session(socketserver.StreamRequestHandler):
    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        state = self.server.state
        sender, recipients, login = None, [], None
        self.reply("220 fake-smtp ready")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, rest = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.wfile.write(
                    b"250-fake-smtp\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                )
            elif verb == "HELO":
                self.reply("250 fake-smtp")
            elif verb == "AUTH":
                login = self._auth(rest, state)
                if login is None:
                    self.reply("535 authentication failed")
                else:
                    self.reply("235 authenticated")
            elif verb == "MAIL":
                sender, recipients = rest.split(":", 1)[1].strip(" <>"), []
                self.reply("250 ok")
            elif verb == "RCPT":
                if state.refuse_recipients:
                    self.reply("550 no such user")
                else:
                    recipients.append(rest.split(":", 1)[1].strip(" <>"))
                    self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = self._data()
                with state.arrived:
                    state.messages.append(
                        ReceivedMail(sender or "", list(recipients), data, login)
                    )
                    state.arrived.notify_all()
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                sender, recipients = (
                    (None, []) if verb == "RSET" else (sender, recipients)
                )
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def _data(self) -> bytes:
        lines = []
        while True:
            raw = self.rfile.readline()
            if raw in (b".\r\n", b".\n", b""):
                return b"".join(lines)
            lines.append(raw[1:] if raw.startswith(b"..") else raw)

    def _auth(self, rest: str, state: _State) -> str | None:
        mechanism, _, initial = rest.partition(" ")
        if mechanism.upper() == "PLAIN":
            if not initial:
                self.reply("334 ")
                initial = self.rfile.readline().decode().strip()
            _zid, user, password = base64.b64decode(initial).decode().split("\0")
        elif mechanism.upper() == "LOGIN":
            self.reply("334 " + base64.b64encode(b"Username:").decode())
            user = base64.b64decode(self.rfile.readline().strip()).decode()
            self.reply("334 " + base64.b64encode(b"Password:").decode())
            password = base64.b64decode(self.rfile.readline().strip()).decode()
        else:
            return None
        if state.credentials is not None and state.credentials != (user, password):
            return None
        return user


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.state = state


class FakeSMTPServer:
    """``with FakeSMTPServer() as smtp: ... smtp.url ... smtp.wait_for(1)``."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.state = _State(credentials=credentials)
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[ReceivedMail]:
        return list(self.state.messages)

    def refuse_recipients(self, refuse: bool = True) -> None:
        self.state.refuse_recipients = refuse

    def wait_for(self, count: int, timeout: float = 60.0) -> list[ReceivedMail]:
        """Block until ``count`` messages arrived; fail the test after ``timeout``."""
        with self.state.arrived:
            arrived = self.state.arrived.wait_for(
                lambda: len(self.state.messages) >= count, timeout
            )
        assert arrived, f"{len(self.state.messages)} of {count} messages arrived"
        return self.messages

    def __enter__(self) -> FakeSMTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
