"""A fake OpenID provider: a real HTTP server on loopback.

It serves what authlib needs for a full sign-in: the discovery document, a
JWKS with one RSA key, an authorization endpoint that "consents" at once as
the user set with :meth:`FakeOIDCServer.sign_in_as` and redirects back with a
code, and a token endpoint that checks the client secret, redirect URI and
PKCE verifier before issuing an RS256-signed ID token with the nonce it was
given. :meth:`FakeOIDCServer.id_token` mints tokens directly for tests of the
``POST /auth/google`` path (expired, wrong audience, foreign key ...).

    with FakeOIDCServer(client_id="web", client_secret="s3cret") as provider:
        provider.sign_in_as("sub-1", "ada@example.com")
        ... PINEFORGE_GOOGLE_DISCOVERY_URL = provider.discovery_url ...
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


class FakeOIDCServer:
    """The provider's state, and the server thread that exposes it."""

    def __init__(
        self, client_id: str = "pineforge-web", client_secret: str = ""
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(16)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "fake-1"})
        self.user: dict[str, Any] = {"sub": "fake-user-1", "email": "user@example.com"}
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -------------------------------------------------------------- lifecycle

    def __enter__(self) -> FakeOIDCServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def issuer(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    # ------------------------------------------------------------- scripting

    def sign_in_as(self, sub: str, email: str | None, verified: bool = True) -> None:
        """Who the next authorization "consents" as."""
        self.user = {"sub": sub, "email": email, "email_verified": verified}

    def id_token(
        self,
        key: RSAKey | None = None,
        header: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """An ID token for the current user; ``overrides`` replace claims."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            # Like Google's, every token has its own id (pass jti=None for none).
            "jti": secrets.token_urlsafe(12),
            "name": "Ada Lovelace",
            **{k: v for k, v in self.user.items() if v is not None},
            **overrides,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        signing_key = key or self.key
        head = {"alg": "RS256", "kid": signing_key.kid, **(header or {})}
        return jwt.encode(head, claims, signing_key)

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "client_secret_basic",
            ],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    # ------------------------------------------------------------- endpoints

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        if query.get("client_id") != self.client_id or "redirect_uri" not in query:
            return 400, {}
        if query.get("code_challenge_method") != "S256":
            return 400, {}
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**query, "user": dict(self.user)}
        params = {"code": code, "state": query.get("state", "")}
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(params)}"}

    def token(
        self, form: dict[str, str], basic: tuple[str, str] | None
    ) -> tuple[int, dict]:
        self.token_requests.append(form)
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        grant = self.codes.pop(form.get("code", ""), None)
        if client_id != self.client_id or secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if challenge != grant.get("code_challenge"):
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}

        saved, self.user = self.user, grant["user"]
        try:
            id_token = self.id_token(nonce=grant.get("nonce"))
        finally:
            self.user = saved
        body = {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": grant.get("scope", "openid"),
            "id_token": id_token,
        }
        return 200, body


def _handler_for(provider: FakeOIDCServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return

        def _send(self, status: int, body: Any = None, headers: dict | None = None):
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._send(200, provider.metadata())
            elif url.path == "/jwks":
                self._send(200, provider.jwks())
            elif url.path == "/authorize":
                status, headers = provider.authorize(query)
                self._send(status, None if status == 302 else {}, headers)
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {
                k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()
            }
            basic = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                basic = (unquote(user), unquote(password))
            if urlsplit(self.path).path != "/token":
                self._send(404, {"error": "not_found"})
                return
            status, body = provider.token(form, basic)
            self._send(status, body)

    return Handler
