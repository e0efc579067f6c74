"""Standard Webhooks v1 signing: checked against the spec text and the official library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from scraper.alerts.channels.signing import SecretError, generate_secret, hub_signature, sign

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the spec's example secret
BODY = b'{"type":"detection.created","data":{"id":"x"}}'


def spec_signatures(secret: str, msg_id: str, ts: int, body: bytes) -> set[bytes]:
    """Independent reading of the spec: base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return {base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, "sha256").digest())}


def test_sign_matches_the_spec_construction() -> None:
    """sign() yields `v1,` plus the spec's base64 HMAC-SHA256 of id.timestamp.body."""
    version, _, sig = sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, BODY).partition(",")
    assert version == "v1"
    assert {sig.encode()} == spec_signatures(
        SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, BODY
    )


def test_sign_verifies_with_the_official_library() -> None:
    """The standardwebhooks library accepts our headers and returns the parsed body."""
    ts = int(time.time())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(ts)}
    headers["webhook-signature"] = sign(SECRET, "msg_1", ts, BODY)
    assert Webhook(SECRET).verify(BODY, headers) == {
        "type": "detection.created",
        "data": {"id": "x"},
    }


def test_sign_tampered_or_stale_is_rejected_by_the_library() -> None:
    """A changed body or a 6-minute-old timestamp fails verification."""
    ts = int(time.time())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(ts)}
    headers["webhook-signature"] = sign(SECRET, "msg_1", ts, BODY)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(SECRET).verify(BODY.replace(b'"x"', b'"y"'), headers)
    old = ts - 360
    stale = {"webhook-id": "msg_1", "webhook-timestamp": str(old)}
    stale["webhook-signature"] = sign(SECRET, "msg_1", old, BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(BODY, stale)


def test_sign_rotation_gives_one_signature_per_secret() -> None:
    """Two secrets (list or space-separated) give two signatures; each verifies alone."""
    new = generate_secret()
    ts = int(time.time())
    joined = sign(f"{SECRET} {new}", "msg_2", ts, BODY)
    assert joined == sign([SECRET, new], "msg_2", ts, BODY)
    assert len(joined.split(" ")) == 2
    for secret in (SECRET, new):
        headers = {"webhook-id": "msg_2", "webhook-timestamp": str(ts), "webhook-signature": joined}
        Webhook(secret).verify(BODY, headers)


def test_generate_secret_is_32_random_bytes() -> None:
    """A generated secret is whsec_ plus base64 of 32 bytes, different every time."""
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


@pytest.mark.parametrize("bad", ["whsec_not*base64!", "whsec_c2hvcnQ=", "", "  "])
def test_sign_bad_secret_is_refused_without_echoing_it(bad: str) -> None:
    """Malformed, short or empty secrets raise SecretError whose text omits the secret."""
    with pytest.raises(SecretError) as caught:
        sign(bad, "msg", 1, BODY)
    assert not bad.strip() or bad not in str(caught.value)


def test_hub_signature_matches_hmac_compare_digest() -> None:
    """The optional X-Hub-Signature-256 value is sha256=<hex HMAC of the raw body>."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = "sha256=" + hmac.new(key, BODY, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hub_signature(SECRET, BODY), expected)
