"""Email channel: one verified-TLS SMTP connection per batch, one `Delivery` per message.

Certificates are always verified (smtplib does not verify unless given a context); plaintext is
allowed only to a loopback relay. Message-level 4xx means retry and 5xx means rejected;
connection-level trouble (refused, timeout, TLS, AUTH) is retried, because the message itself
is fine and the operator can fix the channel while the dispatcher backs off.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from types import TracebackType

from scraper.alerts.channels.deadline import Deadline
from scraper.alerts.channels.email_render import compose
from scraper.alerts.channels.formats import clean, redact, sample_detection
from scraper.alerts.channels.smtp_target import SmtpTarget
from scraper.models import AlertPayload, Delivery

log = logging.getLogger(__name__)

DETAIL_CHARS = 500


def build_message(
    target: SmtpTarget,
    message_id: str,
    items: Sequence[AlertPayload],
    *,
    digest: str | None = None,
    now: datetime,
) -> EmailMessage:
    """One detection gives one alert email; several (or `digest` set) give a digest."""
    return compose(
        sender=target.sender,
        to=target.to,
        message_id=message_id,
        items=items,
        digest=digest,
        now=now,
        list_name=target.list_id,
        unsubscribe=target.unsubscribe,
    )


def test_message(target: SmtpTarget, now: datetime) -> EmailMessage:
    """A harmless, clearly labelled message for `alerts test NAME`."""
    data = sample_detection(now)
    return build_message(target, data.id, [data], now=now)


test_message.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class SmtpSession:
    """One SMTP connection reused for a batch (requirement 25); opened on the first send."""

    def __init__(self, target: SmtpTarget) -> None:
        self.target = target
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """QUIT politely; a dead connection is simply dropped."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def send(self, message: EmailMessage) -> Delivery:
        """Send one message within `timeout` seconds in all (connect, banner, every command,
        the data); reconnects once if the server dropped a reused connection."""
        with Deadline(self.target.timeout) as limit:
            limit.watch(self._smtp.sock if self._smtp is not None else None)
            delivery = self._send_within(message, limit)
            limit.close()
        if limit.expired and delivery.outcome != "delivered":
            self._drop()
            delivery = Delivery("retry", f"timed out after {self.target.timeout:g} s")
        return self._finish(delivery)

    def _send_within(self, message: EmailMessage, limit: Deadline) -> Delivery:
        reused = self._smtp is not None
        try:
            return self._send_once(message)
        except (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            self._drop()
            if not reused or limit.expired:  # cut at the deadline: no second try
                return self._failure(exc)
            log.debug("smtp connection dropped, reconnecting channel=%s", self.target.name)
            return self._send_guarded(message)
        except (smtplib.SMTPException, OSError) as exc:
            return self._failure(exc)

    def _send_guarded(self, message: EmailMessage) -> Delivery:
        try:
            return self._send_once(message)
        except (smtplib.SMTPException, OSError) as exc:
            return self._failure(exc)

    def _send_once(self, message: EmailMessage) -> Delivery:
        if self._smtp is None:
            self._smtp = self._connect()
        sender = parseaddr(self.target.sender)[1] or self.target.sender
        recipients = [parseaddr(a)[1] or a for a in self.target.to]
        refused = self._smtp.send_message(message, from_addr=sender, to_addrs=recipients)
        if refused:
            listed = ", ".join(f"{a} ({code})" for a, (code, _) in refused.items())
            return Delivery("delivered", f"250 accepted; refused recipients: {listed}")
        return Delivery("delivered", "250 accepted")

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        context = ssl.create_default_context(cafile=target.ca_file)
        smtp: smtplib.SMTP
        if target.security == "tls":
            smtp = smtplib.SMTP_SSL(
                target.host, target.port, target.helo, timeout=target.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(target.host, target.port, target.helo, timeout=target.timeout)
        try:
            smtp.ehlo()
            if target.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if target.username:
                smtp.login(target.username, target.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _failure(self, exc: BaseException) -> Delivery:
        """Map an exception to an outcome; drop the connection unless the server stayed sane."""
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            detail = "all recipients refused: " + ", ".join(
                f"{a} ({code} {_text(msg)})" for a, (code, msg) in exc.recipients.items()
            )
            if any(400 <= c < 500 for c in codes):
                return Delivery("retry", detail)
            return Delivery("rejected", detail)
        message_level = isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError)
        if not message_level:
            self._drop()
        if message_level and isinstance(exc, smtplib.SMTPResponseException):
            detail = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if exc.smtp_code >= 500:
                return Delivery("rejected", detail)
            return Delivery("retry", detail)
        return Delivery("retry", describe(exc))

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _finish(self, delivery: Delivery) -> Delivery:
        target = self.target
        detail = clean(redact(delivery.detail, target.password, target.username), DETAIL_CHARS)
        log.info(
            "email attempt channel=%s host=%s outcome=%s detail=%s",
            target.name,
            target.host,
            delivery.outcome,
            detail,
        )
        return Delivery(delivery.outcome, detail, delivery.retry_after)


def describe(exc: BaseException) -> str:
    """A connection-level failure in words (never the credentials: AUTH replies are codes)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, smtplib.SMTPResponseException):
        prefix = "authentication failed: " if exc.smtp_code in (454, 534, 535) else ""
        return f"{prefix}{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}"


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return clean(text, 200)
