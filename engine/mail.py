"""Email: a strategy's script as an attachment, sent by SMTP or kept as a file.

``SMTP_URL`` says where mail goes::

    smtp://host:25                      plain SMTP
    smtp://user:pass@host:587?starttls=true   upgrade with STARTTLS (required)
    smtps://user:pass@host:465          TLS from the first byte

With no ``SMTP_URL`` (the embedded default) each message is written as an
``.eml`` file under ``<var>/mail/``, where any mail client can open it.
The text and HTML parts come from the Jinja templates in ``mail_templates/``;
user text reaches the HTML part only through autoescaping.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engine.errors import DependencyUnavailable, InvalidRequest, MailRejected
from engine.logging import get_logger
from engine.settings import Settings, get_settings

log = get_logger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "mail_templates"
SMTP_TIMEOUT_SECONDS = 15
_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_INTROS = {
    "export": "Here is the Pine Script you asked PineForge to send.",
    "generate": "Your strategy is ready; here is its Pine Script.",
    "refine": "Your refined strategy is ready; here is its Pine Script.",
}

_ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("html.j2",)),
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class ScriptMail:
    """What a script email says and carries."""

    to: str
    strategy_name: str
    version: int
    filename: str
    code: str
    kind: str = "export"
    display_name: str | None = None
    strategy_url: str | None = None


@dataclass(frozen=True)
class SmtpTarget:
    """An SMTP server parsed from ``SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def build_script_message(mail: ScriptMail, sender: str) -> EmailMessage:
    """A multipart message: text, HTML alternative, and the .pine attachment."""
    values = {
        "intro": _INTROS.get(mail.kind, _INTROS["export"]),
        "strategy_name": _one_line(mail.strategy_name),
        "version": mail.version,
        "filename": mail.filename,
        "display_name": _one_line(mail.display_name or "") or None,
        "strategy_url": mail.strategy_url,
    }
    message = EmailMessage()
    message["Subject"] = f"Pine Script: {values['strategy_name']} (v{mail.version})"
    message["From"] = sender
    message["To"] = mail.to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="pineforge.local")
    message.set_content(_ENVIRONMENT.get_template("script.txt.j2").render(values))
    html = _ENVIRONMENT.get_template("script.html.j2").render(values)
    message.add_alternative(html, subtype="html")
    message.add_attachment(
        mail.code.encode("utf-8"),
        maintype="text",
        subtype="plain",
        filename=mail.filename,
    )
    return message


def smtp_target(url: str) -> SmtpTarget:
    """Parse ``SMTP_URL``; a malformed one is a configuration error."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidRequest(
            code="SMTP_URL_INVALID",
            message="SMTP_URL must look like smtp://host:port or smtps://host:port.",
        )
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].casefold() in ("1", "true", "yes")
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or _DEFAULT_PORTS[parts.scheme],
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def send_message(message: EmailMessage, settings: Settings | None = None) -> str:
    """Send ``message``: by SMTP when configured, else into an ``.eml`` file.

    Returns where it went (``smtp://host:port`` or the file path). Raises
    DependencyUnavailable (MAIL_UNAVAILABLE) when the server cannot be reached
    and MailRejected when it refuses the message.
    """
    settings = settings or get_settings()
    if settings.smtp_url is None or not settings.smtp_url.get_secret_value():
        return str(write_eml(message, settings.var_dir / "mail"))
    target = smtp_target(settings.smtp_url.get_secret_value())
    _send_smtp(message, target)
    return f"smtp://{target.host}:{target.port}"


def write_eml(message: EmailMessage, folder: Path) -> Path:
    """Write ``message`` to a new ``.eml`` file in ``folder``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    draft = path.with_suffix(".eml.part")
    draft.write_bytes(message.as_bytes())
    os.replace(draft, path)
    log.info("mail_written", path=path.name)
    return path


def _send_smtp(message: EmailMessage, target: SmtpTarget) -> None:
    context = ssl.create_default_context()
    client_class = smtplib.SMTP_SSL if target.implicit_tls else smtplib.SMTP
    kwargs = {"context": context} if target.implicit_tls else {}
    try:
        with client_class(
            target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS, **kwargs
        ) as client:
            client.ehlo()
            if target.starttls:
                client.starttls(context=context)
                client.ehlo()
            if target.username:
                client.login(target.username, target.password or "")
            client.send_message(message)
    except (
        smtplib.SMTPRecipientsRefused,
        smtplib.SMTPSenderRefused,
        smtplib.SMTPDataError,
        smtplib.SMTPAuthenticationError,
        smtplib.SMTPNotSupportedError,
    ) as exc:
        log.warning("mail_rejected", error=type(exc).__name__)
        raise MailRejected(details={"reason": type(exc).__name__}) from exc
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("mail_unavailable", error=type(exc).__name__)
        raise DependencyUnavailable(
            code="MAIL_UNAVAILABLE",
            message="The mail server could not be reached; try again later.",
        ) from exc
    log.info("mail_sent", server=f"{target.host}:{target.port}")
