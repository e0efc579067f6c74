"""Standard Webhooks v1 signatures: HMAC-SHA256 over "{id}.{timestamp}.{body}".

Receivers verify with any Standard Webhooks library (e.g. `standardwebhooks`). Several secrets
give several space-separated signatures, so an endpoint can rotate its secret without downtime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105  a prefix, not a password
MIN_SECRET_BYTES = 24  # the spec asks for 24-64 random bytes
MAX_SECRET_BYTES = 64
GENERATED_SECRET_BYTES = 32


class SecretError(ValueError):
    """A webhook secret is malformed; the message never contains the secret itself."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key: base64-decoded text after `whsec_` (padding optional, as the spec allows)."""
    if not secret.strip().startswith(SECRET_PREFIX):
        raise SecretError("webhook secret must start with whsec_ followed by base64")
    text = secret.strip().removeprefix(SECRET_PREFIX)
    if not text:
        raise SecretError("webhook secret has nothing after whsec_")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretError("webhook secret is not whsec_<base64>") from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise SecretError(
            f"webhook secret decodes to {len(key)} bytes; Standard Webhooks secrets are "
            f"{MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes"
        )
    return key


def split_secrets(secret: str | Sequence[str]) -> tuple[str, ...]:
    """Secrets as a tuple; one string may hold several separated by spaces (rotation)."""
    parts = secret.split() if isinstance(secret, str) else [s for p in secret for s in p.split()]
    if not parts:
        raise SecretError("webhook secret is empty")
    return tuple(parts)


def sign(secret: str | Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,<base64>` per secret, space-separated."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(_sign_one(decode_secret(s), signed) for s in split_secrets(secret))


def _sign_one(key: bytes, signed: bytes) -> str:
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def hub_signature(secret: str | Sequence[str], body: bytes) -> str:
    """GitHub-style `X-Hub-Signature-256` (first secret, no timestamp) for legacy receivers."""
    key = decode_secret(split_secrets(secret)[0])
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def generate_secret() -> str:
    """A fresh per-endpoint secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_SECRET_BYTES)).decode()
