"""Sign-in with an OpenID provider: verify the ID token, find or make the user.

A user is matched by the provider's verified subject (``sub``), never by an
email the provider has not verified. A first sign-in whose verified email
belongs to an account with no identity of this provider yet links to it (the
account was made for that address, by the CLI); otherwise a new user is made.
An ID token signs in once: :class:`UsedIdTokens` remembers each accepted one
until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.audit import AuditAction, record
from engine.accounts.credits import grant_monthly_credits
from engine.db.accounts_models import UserIdentity
from engine.db.base import utcnow
from engine.db.models import User
from engine.errors import Unauthorized

#: Asymmetric algorithms only: a symmetric or ``none`` token is refused.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "PS256")
DEFAULT_LEEWAY_SECONDS = 60


class InvalidIdToken(Unauthorized):
    default_code = "INVALID_ID_TOKEN"
    default_message = "The sign-in token is not valid."


class IdTokenReplayed(Unauthorized):
    default_code = "ID_TOKEN_REPLAYED"
    default_message = "This sign-in token was already used; get a new one."


@dataclass(frozen=True)
class VerifiedIdentity:
    """What a verified ID token says about who signed in."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    #: The token's own id (``jti``) and expiry (``exp``), when it had them.
    token_id: str | None = None
    expires_at: int | None = None

    @classmethod
    def from_claims(cls, provider: str, claims: Mapping[str, Any]) -> VerifiedIdentity:
        """Build from claims that were already verified (signature, iss, aud)."""
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 255:
            raise InvalidIdToken()
        email = claims.get("email")
        email = email.strip().lower() if isinstance(email, str) else None
        name = claims.get("name")
        token_id, expires_at = claims.get("jti"), claims.get("exp")
        return cls(
            provider=provider,
            subject=subject,
            email=email if email and len(email) <= 320 else None,
            email_verified=claims.get("email_verified") in (True, "true"),
            name=name[:120] if isinstance(name, str) and name.strip() else None,
            token_id=token_id if isinstance(token_id, str) and token_id else None,
            expires_at=expires_at if isinstance(expires_at, int) else None,
        )


class UsedIdTokens:
    """ID tokens already exchanged for a session, kept in Redis until they expire.

    A token is named by its provider and ``jti`` or, lacking one, by a digest
    of the whole token; only the digest of that name is stored.
    """

    def __init__(self, client: Any, prefix: str, leeway: int = DEFAULT_LEEWAY_SECONDS):
        self._client = client
        self._prefix = f"{prefix}pf:idtoken:"
        self._leeway = leeway

    def spend(self, identity: VerifiedIdentity, raw: str) -> None:
        """Record the token's use; raise IdTokenReplayed if it was used before."""
        if identity.token_id:
            name = f"jti:{identity.provider}:{identity.subject}:{identity.token_id}"
        else:
            name = f"raw:{raw}"
        key = self._prefix + hashlib.sha256(name.encode()).hexdigest()
        # Remembered as long as verify_id_token would still accept it.
        expires_at = identity.expires_at or int(time.time())
        ttl = max(1, expires_at + self._leeway + 1 - int(time.time()))
        if not self._client.set(key, 1, nx=True, ex=ttl):
            raise IdTokenReplayed()


def verify_id_token(
    raw: str,
    *,
    jwks: Mapping[str, Any],
    issuers: Collection[str],
    audience: str,
    nonce: str | None = None,
    provider: str = "google",
    refresh_jwks: Callable[[], Mapping[str, Any]] | None = None,
    now: int | None = None,
    leeway: int = DEFAULT_LEEWAY_SECONDS,
) -> VerifiedIdentity:
    """Verify signature (against ``jwks``), issuer, audience, expiry and nonce.

    ``refresh_jwks`` is called once when the token names a key id the set does
    not hold (the provider rotated its keys). Any failure raises
    :class:`InvalidIdToken` without saying which check failed.
    """
    try:
        try:
            token = jwt.decode(
                raw, KeySet.import_key_set(dict(jwks)), ID_TOKEN_ALGORITHMS
            )
        except InvalidKeyIdError:
            if refresh_jwks is None:
                raise
            fresh = KeySet.import_key_set(dict(refresh_jwks()))
            token = jwt.decode(raw, fresh, ID_TOKEN_ALGORITHMS)

        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=leeway,
            iss={"essential": True, "values": list(issuers)},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidIdToken() from exc

    claims = token.claims
    if nonce is not None and not hmac.compare_digest(
        str(claims.get("nonce", "")), nonce
    ):
        raise InvalidIdToken()
    # With several audiences the authorized party must be us (OIDC core 3.1.3.7).
    audiences = claims.get("aud")
    if (
        isinstance(audiences, list)
        and len(audiences) > 1
        and claims.get("azp") != audience
    ):
        raise InvalidIdToken()
    return VerifiedIdentity.from_claims(provider, claims)


def _placeholder_email(identity: VerifiedIdentity) -> str:
    digest = hashlib.sha256(f"{identity.provider}:{identity.subject}".encode())
    return f"{identity.provider}-{digest.hexdigest()[:24]}@users.invalid"


def _linkable_user(session: Session, identity: VerifiedIdentity) -> User | None:
    if not (identity.email and identity.email_verified):
        return None
    user = session.scalar(select(User).where(User.email == identity.email))
    if user is None:
        return None
    linked = session.scalar(
        select(UserIdentity.id).where(
            UserIdentity.user_id == user.id,
            UserIdentity.provider == identity.provider,
        )
    )
    return user if linked is None else None


def sign_in(
    session: Session,
    identity: VerifiedIdentity,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> User:
    """Return the user for a verified identity, creating or linking one."""
    now = utcnow()
    row = session.scalar(
        select(UserIdentity).where(
            UserIdentity.provider == identity.provider,
            UserIdentity.subject == identity.subject,
        )
    )
    if row is not None:
        user = session.get(User, row.user_id)
        row.last_login_at = now
        if identity.email_verified:
            row.email, row.email_verified = identity.email, True
        record(session, user.id, AuditAction.LOGIN, ip, user_agent, _login(identity))
        return user

    user = _linkable_user(session, identity)
    if user is not None:
        details = {"provider": identity.provider}
        record(session, user.id, AuditAction.IDENTITY_LINKED, ip, user_agent, details)
    else:
        email = identity.email if identity.email_verified else None
        taken = email and session.scalar(select(User.id).where(User.email == email))
        user = User(
            email=email if email and not taken else _placeholder_email(identity),
            display_name=identity.name,
        )
        session.add(user)
        session.flush()
        grant_monthly_credits(session, user)

    session.add(
        UserIdentity(
            user_id=user.id,
            provider=identity.provider,
            subject=identity.subject,
            email=identity.email if identity.email_verified else None,
            email_verified=identity.email_verified,
            last_login_at=now,
        )
    )
    session.flush()
    record(session, user.id, AuditAction.LOGIN, ip, user_agent, _login(identity))
    return user


def _login(identity: VerifiedIdentity) -> dict[str, str]:
    return {"provider": identity.provider}
