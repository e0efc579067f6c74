"""Email channel: message building, and sending through real aiosmtpd servers on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from scraper.alerts.channels import email as notify_email
from scraper.alerts.channels.email import SmtpSession, SmtpTarget, build_message
from scraper.models import Delivery
from tests.smtpserver import (
    Authenticator,
    CertFiles,
    Recorder,
    closed_port,
    make_cert,
    server_context,
    smtp_server,
)
from tests.test_formats import FIXED_TIME, assert_snapshot, fixed_detection, with_councils
from tests.trickle import Trickler

USERNAME = "alerts-user-7f3a"
PASSWORD = "pw-Zq81-very-secret"
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return make_cert(tmp_path_factory.mktemp("tls"))


def smtp_target(port: int, security: str = "none", **changes: Any) -> SmtpTarget:
    values: dict[str, Any] = {
        "name": "team-email",
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "username": None,
        "password": None,
        "sender": "ofsted-watch@example.org",
        "to": ("team@example.org", "head@example.org"),
        "timeout": 10.0,
    }
    values.update(changes)
    return SmtpTarget(**values)


def message(target: SmtpTarget, message_id: str = "msg_1", **changes: Any) -> EmailMessage:
    return build_message(target, message_id, [fixed_detection(**changes)], now=FIXED_TIME)


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


# ---- building ---------------------------------------------------------------------------------


def test_build_message_subject_for_report_news_and_digest() -> None:
    """Subjects name the report, the news title, or count a digest, with London dates."""
    target = smtp_target(25)
    assert message(target)["Subject"] == (
        "[ofsted-watch] Monitoring visit: West Berkshire — published 23 Jan 2017"
    )
    news = message(target, kind="news_article", report_type=None, title="Council rated good")
    assert news["Subject"] == "[ofsted-watch] News: Council rated good"
    items = [fixed_detection(), fixed_detection(title="b"), fixed_detection(title="c")]
    digest = build_message(target, "d1", items, digest="daily", now=FIXED_TIME)
    assert digest["Subject"] == "[ofsted-watch] Daily digest: 3 new items — 22 Nov 2026"


def test_build_message_is_multipart_alternative_text_then_html() -> None:
    """The message is multipart/alternative with text/plain first and text/html second."""
    msg = message(smtp_target(25))
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.policy == email.policy.SMTP


@pytest.mark.parametrize("hostile", HOSTILE)
def test_build_message_escapes_scraped_text_in_html(hostile: str) -> None:
    """Hostile titles, summaries and council names appear only escaped in the HTML part."""
    council = {"name": hostile, "gss_code": None, "ofsted_urn": None}
    data = with_councils(
        fixed_detection(kind="news_article", title=hostile, summary=hostile), council
    )
    msg = build_message(smtp_target(25), "m", [data], now=FIXED_TIME)
    _, html = parts(msg)
    assert "<script" not in html and "<img" not in html
    assert "&lt;" in html
    serialized = msg.get_body(("html",)).as_bytes()  # type: ignore[union-attr]
    assert b"<script" not in serialized and b"<img" not in serialized


def test_build_message_strips_header_injection() -> None:
    """A title with CRLF + Bcc gives exactly one Subject line and no Bcc header."""
    msg = message(
        smtp_target(25), kind="news_article", report_type=None, title="Hi\r\nBcc: x@example.net"
    )
    raw = msg.as_bytes()
    lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert sum(line.startswith(b"Subject:") for line in lines) == 1
    assert not any(line.lower().startswith(b"bcc:") for line in lines)
    parsed = email.message_from_bytes(raw, policy=email.policy.SMTP)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "[ofsted-watch] News: Hi Bcc: x@example.net"


def test_build_message_has_stable_message_id_and_list_headers() -> None:
    """Message-ID derives from the alert id alone; List-Id and List-Unsubscribe are set."""
    target = smtp_target(25, unsubscribe="mailto:unsubscribe@example.org")
    first = message(target, "msg_abc")
    again = build_message(target, "msg_abc", [fixed_detection()], now=datetime.now(UTC))
    assert first["Message-ID"] == again["Message-ID"] == "<alert-msg_abc@ofsted-watch>"
    assert first["List-Id"] == "<ofsted-watch.example.org>"
    assert first["List-Unsubscribe"] == "<mailto:unsubscribe@example.org>"
    assert first["List-Unsubscribe-Post"] is None
    one_click = message(smtp_target(25, unsubscribe="https://example.org/u?t=1"))
    assert one_click["List-Unsubscribe"] == "<https://example.org/u?t=1>"
    assert one_click["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_build_message_matches_snapshots() -> None:
    """The text and HTML parts for the fixed detection are byte-for-byte the pinned snapshots."""
    text, html = parts(message(smtp_target(25)))
    assert_snapshot("email-report.txt", text.encode())
    assert_snapshot("email-report.html", html.encode())
    items = [fixed_detection(), fixed_detection(kind="news_article", title="Council news")]
    digest = build_message(smtp_target(25), "d", items, digest="weekly", now=FIXED_TIME)
    assert_snapshot("email-digest.txt", parts(digest)[0].encode())


def test_smtp_target_plaintext_only_to_loopback() -> None:
    """security = "none" to a remote host is refused with a clear error; loopback is fine."""
    with pytest.raises(ValueError, match="only allowed to localhost"):
        smtp_target(25, host="smtp.example.org")
    for host in ("localhost", "127.0.0.1", "::1"):
        assert smtp_target(25, host=host).security == "none"
    with pytest.raises(ValueError, match="security must be one of"):
        smtp_target(25, security="ssl")


def test_test_message_is_labelled() -> None:
    """`alerts test` mail says it is a test, in its subject as well as its text."""
    msg = notify_email.test_message(smtp_target(25), FIXED_TIME)
    assert "ofsted-watch test alert" in parts(msg)[0]
    assert msg["Subject"].startswith("[ofsted-watch] TEST")


# ---- sending ----------------------------------------------------------------------------------


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def test_session_delivers_to_every_recipient() -> None:
    """A plain loopback send is delivered once to every configured recipient."""
    recorder = Recorder()
    with smtp_server(recorder) as server, SmtpSession(smtp_target(server.port)) as session:
        delivery = session.send(message(session.target))
    assert delivery == Delivery("delivered", "250 accepted")
    (envelope,) = recorder.envelopes
    assert envelope.rcpt_tos == ["team@example.org", "head@example.org"]
    assert envelope.mail_from == "ofsted-watch@example.org"
    assert b"Message-ID: <alert-msg_1@ofsted-watch>" in (envelope.original_content or b"")


def test_session_starttls_verifies_the_certificate(cert: CertFiles) -> None:
    """STARTTLS to a self-signed server fails unless its CA is trusted; plaintext is refused."""
    recorder = Recorder()
    tls = {"tls_context": server_context(cert), "require_starttls": True}
    with smtp_server(recorder, **tls) as server:
        untrusted = smtp_target(server.port, "starttls")
        with SmtpSession(untrusted) as session:
            failed = session.send(message(untrusted))
        with SmtpSession(smtp_target(server.port)) as session:
            plaintext = session.send(message(untrusted))
        trusted = smtp_target(server.port, "starttls", ca_file=str(cert.cert))
        with SmtpSession(trusted) as session:
            ok = session.send(message(trusted))
    assert failed.outcome == "retry"
    assert "certificate verification failed" in failed.detail
    assert plaintext.outcome == "rejected" and plaintext.detail.startswith("530")
    assert ok.outcome == "delivered"
    assert len(recorder.envelopes) == 1


def test_session_implicit_tls(cert: CertFiles) -> None:
    """security = "tls" speaks TLS from the first byte and verifies the certificate."""
    recorder = Recorder()
    with smtp_server(recorder, ssl_context=server_context(cert)) as server:
        target = smtp_target(server.port, "tls", ca_file=str(cert.cert))
        with SmtpSession(target) as session:
            assert session.send(message(target)).outcome == "delivered"
        untrusted = smtp_target(server.port, "tls")
        with SmtpSession(untrusted) as session:
            assert "certificate" in session.send(message(untrusted)).detail
    assert len(recorder.envelopes) == 1


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_session_authenticates(cert: CertFiles, mechanism: str) -> None:
    """AUTH LOGIN and AUTH PLAIN work over STARTTLS with the configured credentials."""
    auth = Authenticator(USERNAME, PASSWORD)
    other = "PLAIN" if mechanism == "LOGIN" else "LOGIN"
    with smtp_server(
        Recorder(),
        tls_context=server_context(cert),
        require_starttls=True,
        authenticator=auth,
        auth_required=True,
        auth_exclude_mechanism=[other],
    ) as server:
        target = smtp_target(
            server.port, "starttls", ca_file=str(cert.cert), username=USERNAME, password=PASSWORD
        )
        with SmtpSession(target) as session:
            assert session.send(message(target)).outcome == "delivered"
    assert auth.mechanisms == [mechanism]


def test_session_451_then_accept() -> None:
    """A 451 on the first attempt is a retry; the next attempt is delivered."""
    recorder = Recorder(refuse_first=1)
    with smtp_server(recorder) as server, SmtpSession(smtp_target(server.port)) as session:
        first = session.send(message(session.target))
        second = session.send(message(session.target))
    assert first.outcome == "retry" and first.detail.startswith("451")
    assert second.outcome == "delivered"
    assert len(recorder.envelopes) == 1


def test_session_reconnects_after_server_drop(logs: pytest.LogCaptureFixture) -> None:
    """When the server closed an idle connection, the next send reconnects once and succeeds."""
    recorder = Recorder()
    with smtp_server(recorder, timeout=0.3) as server, SmtpSession(smtp_target(server.port)) as s:
        assert s.send(message(s.target)).outcome == "delivered"
        time.sleep(1.0)  # longer than the server's idle timeout
        assert s.send(message(s.target, "msg_2")).outcome == "delivered"
    assert len(recorder.envelopes) == 2
    assert "smtp connection dropped, reconnecting" in logs.text


def test_session_connection_refused_is_a_retry() -> None:
    """Nothing listening is a retry, never an exception."""
    with SmtpSession(smtp_target(closed_port())) as session:
        delivery = session.send(message(session.target))
    assert delivery.outcome == "retry"
    assert "ConnectionRefusedError" in delivery.detail


def test_session_throughput_100_messages_over_one_starttls_connection(cert: CertFiles) -> None:
    """100 alerts go through one STARTTLS connection quickly (requirement: < 3 s; bound 30 s)."""
    recorder = Recorder()
    tls = {"tls_context": server_context(cert), "require_starttls": True}
    with smtp_server(recorder, **tls) as server:
        target = smtp_target(server.port, "starttls", ca_file=str(cert.cert))
        messages = [message(target, f"msg_{i}") for i in range(100)]
        started = time.perf_counter()
        with SmtpSession(target) as session:
            outcomes = [session.send(m).outcome for m in messages]
        elapsed = time.perf_counter() - started
    print(f"email throughput: {100 / elapsed:.0f} msg/s (100 messages in {elapsed:.2f} s)")
    assert outcomes == ["delivered"] * 100
    assert len(recorder.envelopes) == 100
    assert elapsed < 30  # generous for a noisy 2-core CI box; measured figure is printed


def test_session_never_leaks_credentials(cert: CertFiles, logs: pytest.LogCaptureFixture) -> None:
    """Username and password appear in no log record, Delivery detail or repr on failure."""
    auth = Authenticator(USERNAME, "the-right-password")
    deliveries: list[Delivery] = []
    with smtp_server(
        Recorder(), tls_context=server_context(cert), require_starttls=True, authenticator=auth
    ) as server:
        for ca_file in (str(cert.cert), None):
            target = smtp_target(
                server.port, "starttls", ca_file=ca_file, username=USERNAME, password=PASSWORD
            )
            with SmtpSession(target) as session:
                deliveries.append(session.send(message(target)))
    refused = smtp_target(closed_port(), username=USERNAME, password=PASSWORD)
    with SmtpSession(refused) as session:
        deliveries.append(session.send(message(refused)))
    assert deliveries[0].detail.startswith("authentication failed: 535")
    ours = "\n".join(r.getMessage() for r in logs.records if r.name != "mail.log")
    text = ours + repr(deliveries) + repr(refused)
    for secret in (USERNAME, PASSWORD):
        assert secret not in text


def test_notice_subject_says_notice() -> None:
    """An owner notice (alert given up, channel disabled) is not dressed up as news."""
    from scraper.alerts.channels.email_render import item_line

    line = item_line(fixed_detection(kind="channel_disabled", title="Channel hook disabled"))
    assert line.startswith("Notice: ") and "Channel hook disabled" in line
    assert item_line(fixed_detection(kind="news_article", title="Story")).startswith("News: ")


def test_smtp_trickled_banner_is_cut_at_the_timeout() -> None:
    """A server trickling its 220 banner a byte at a time is cut at `timeout`, not per read."""
    banner = b"220 trickle.example ESMTP ready\r\n"
    with Trickler(banner, interval=0.2, read_first=False) as peer:  # ~7 s; each read < 1 s
        started = time.monotonic()
        with SmtpSession(smtp_target(peer.port, timeout=1.0)) as session:
            delivery = session.send(message(smtp_target(peer.port)))
        elapsed = time.monotonic() - started
    assert (delivery.outcome, delivery.detail) == ("retry", "timed out after 1 s")
    assert elapsed < 2.5, elapsed
