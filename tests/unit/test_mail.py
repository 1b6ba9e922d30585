"""Script emails: their parts, SMTP delivery to a loopback server, .eml files."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest

from engine.errors import DependencyUnavailable, InvalidRequest, MailRejected
from engine.mail import (
    ScriptMail,
    build_script_message,
    send_message,
    smtp_target,
)
from engine.settings import Settings
from tests.fakes.smtp_server import FakeSMTPServer

CODE = '//@version=6\nstrategy("RSI <Swing>")\n'
MAIL = ScriptMail(
    to="ada@example.com",
    strategy_name="RSI <Swing>\nBcc: eve@example.com",
    version=3,
    filename="rsi-swing.pine",
    code=CODE,
    display_name="Ada",
)


def _settings(tmp_path, smtp_url=None):
    return Settings(var_dir=tmp_path, smtp_url=smtp_url)


def test_the_message_has_text_html_and_the_script_attached():
    message = build_script_message(MAIL, "PineForge <no-reply@example.com>")

    assert message["To"] == "ada@example.com"
    assert "\n" not in message["Subject"]
    assert message["Subject"] == "Pine Script: RSI <Swing> Bcc: eve@example.com (v3)"
    assert "Ada" in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "RSI &lt;Swing&gt;" in html and "<Swing>" not in html
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "rsi-swing.pine"
    assert attachment.get_content() == CODE


def test_without_smtp_url_the_message_is_an_eml_file(tmp_path):
    where = send_message(build_script_message(MAIL, "a@b.c"), _settings(tmp_path))

    files = list((tmp_path / "mail").glob("*.eml"))
    assert [str(path) for path in files] == [where]
    parsed = email.message_from_bytes(
        files[0].read_bytes(), policy=email.policy.default
    )
    assert parsed["To"] == "ada@example.com"


def test_smtp_delivery_with_login(tmp_path):
    with FakeSMTPServer(credentials=("mailer", "s3cret/+")) as server:
        url = f"smtp://mailer:s3cret%2F%2B@127.0.0.1:{server.port}"
        send_message(build_script_message(MAIL, "a@b.c"), _settings(tmp_path, url))
        (received,) = server.wait_for(1)

    assert received.login == "mailer"
    assert received.recipients == ["ada@example.com"]
    (attachment,) = received.message.iter_attachments()
    assert attachment.get_content() == CODE


def test_a_refused_recipient_is_mail_rejected(tmp_path):
    with FakeSMTPServer() as server:
        server.refuse_recipients()
        with pytest.raises(MailRejected):
            send_message(
                build_script_message(MAIL, "a@b.c"), _settings(tmp_path, server.url)
            )


def test_an_unreachable_server_is_retryable(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(DependencyUnavailable) as caught:
        send_message(
            build_script_message(MAIL, "a@b.c"),
            _settings(tmp_path, f"smtp://127.0.0.1:{port}"),
        )

    assert caught.value.code == "MAIL_UNAVAILABLE"
    assert caught.value.retryable


@pytest.mark.parametrize(
    "url, host, port, tls, starttls, user",
    [
        ("smtp://mail.example:2525", "mail.example", 2525, False, False, None),
        ("smtp://u:p@mail.example?starttls=true", "mail.example", 25, False, True, "u"),
        ("smtps://mail.example", "mail.example", 465, True, False, None),
    ],
)
def test_smtp_urls(url, host, port, tls, starttls, user):
    target = smtp_target(url)

    assert (target.host, target.port, target.implicit_tls) == (host, port, tls)
    assert (target.starttls, target.username) == (starttls, user)


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25"])
def test_bad_smtp_urls_are_refused(url):
    with pytest.raises(InvalidRequest):
        smtp_target(url)
