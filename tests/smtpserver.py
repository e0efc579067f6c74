"""Loopback SMTP servers (aiosmtpd) and a throw-away self-signed certificate for the email tests."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class CertFiles:
    cert: Path  # PEM certificate, also usable as the CA file (it is self-signed)
    key: Path


def make_cert(directory: Path) -> CertFiles:
    """A self-signed certificate for localhost and 127.0.0.1, valid for two days."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _make_cert_cryptography(cert, key)
    except ImportError:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    return CertFiles(cert, key)


def _make_cert_cryptography(cert_path: Path, key_path: Path) -> None:
    import datetime as dt
    import ipaddress

    from cryptography import x509  # type: ignore[import-not-found]
    from cryptography.hazmat.primitives import hashes, serialization  # type: ignore[import-not-found]
    from cryptography.hazmat.primitives.asymmetric import ec  # type: ignore[import-not-found]
    from cryptography.x509.oid import NameOID  # type: ignore[import-not-found]

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
    )
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def server_context(files: CertFiles) -> ssl.SSLContext:
    """The TLS context the test server presents."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    return context


class Recorder:
    """An aiosmtpd handler that keeps every accepted envelope; `refuse_first` 451s early DATA."""

    def __init__(self, refuse_first: int = 0) -> None:
        self.envelopes: list[Envelope] = []
        self.attempts = 0
        self.refuse_first = refuse_first
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.attempts += 1
            if self.attempts <= self.refuse_first:
                return "451 4.3.0 Temporary local problem, try again later"
            self.envelopes.append(envelope)
        return "250 2.0.0 Message accepted for delivery"


class Authenticator:
    """Accepts exactly one username/password pair; records the mechanisms used."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username.encode()
        self.password = password.encode()
        self.mechanisms: list[str] = []

    def __call__(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.username,
            self.password,
        )
        return AuthResult(success=ok, handled=False)


class LoopbackController(Controller):
    """Controller on an OS-chosen port: learn the port before aiosmtpd's start-up probe."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@contextmanager
def smtp_server(handler: Any | None = None, **smtp_kwargs: Any) -> Iterator[LoopbackController]:
    """A running aiosmtpd on 127.0.0.1 (any SMTP keyword: tls_context, ssl_context, ...)."""
    controller = LoopbackController(
        handler or Recorder(), hostname=HOST, port=0, ready_timeout=10.0, **smtp_kwargs
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def closed_port() -> int:
    """A loopback port with nothing listening (bound, noted, released)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port
