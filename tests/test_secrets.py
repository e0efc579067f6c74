"""Secrets hygiene: webhook secrets, SMTP usernames and passwords never show
up in logs (debug level, text and JSON), `check-config`, `alerts list` or error messages, even
when the channels fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.cli.commands import main
from scraper.store import Store
from tests.smtpserver import Authenticator, Recorder, smtp_server
from tests.test_alerts_e2e import World
from tests.test_alerts_e2e import world as world  # noqa: PLC0414  re-exported fixture

SMTP_USER = "smtp-user-Qx7Lh2"
SMTP_PASSWORD = "smtp-pass-Kd93-zzTop"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM0NTY3"
URL_TOKEN = "T0KEN-in-path-8fj3"


def secrets_config(world: World, smtp_port: int) -> Path:
    """A failing webhook (500, token in its path) and an SMTP login that is refused. (A webhook
    secret that is not valid base64 is refused when the config loads: see below.)"""
    hook = world.rx.hook(f"/hook/{URL_TOKEN}", *[500] * 10)
    channels = f"""
[[alerts]]
name = "hook"
type = "webhook"
url = "{hook}"
secret = "${{HOOK_SECRET}}"
allow_private = true

[[alerts]]
name = "mail"
type = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
security = "none"
username = "${{SMTP_USER}}"
password = "${{SMTP_PASSWORD}}"
from = "ofsted-watch@example.org"
to = ["team@example.org"]
timeout = 10
"""
    return world.config(channels)


def assert_clean(text: str, *, url_token: bool = True) -> None:
    secrets = [SMTP_USER, SMTP_PASSWORD, WEBHOOK_SECRET, WEBHOOK_SECRET[6:], "Zm9v-bad"]
    for secret in [*secrets, URL_TOKEN] if url_token else secrets:
        assert secret not in text, f"secret {secret[:6]}… leaked"


def test_secrets_never_appear_in_output_logs_or_errors(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config, fetch -v with failing channels, alerts list/test: no secret anywhere."""
    monkeypatch.setenv("HOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("BROKEN_SECRET", "whsec_Zm9v-bad")
    monkeypatch.setenv("SMTP_USER", SMTP_USER)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    auth = Authenticator(SMTP_USER, "the-right-password")
    with smtp_server(Recorder(), authenticator=auth, auth_require_tls=False) as smtp:
        config = secrets_config(world, smtp.port)
        assert main(["--config", str(config), "check-config"]) == 0
        shown = capsys.readouterr()
        # check-config shows webhook URLs whole (config.describe); only host-level redaction
        # of chat-webhook tokens is asked of it in the report, so the token is not checked here.
        assert_clean(shown.out + shown.err, url_token=False)
        commands = [
            ["-v", "fetch"],
            ["-v", "--log-format", "json", "fetch"],
            ["alerts", "list"],
            ["alerts", "list", "--json"],
            ["-v", "alerts", "test", "mail"],
            ["-v", "alerts", "test", "hook"],
        ]
        world.full["on"] = False
        codes = []
        for i, args in enumerate(commands):
            if i == 1:
                world.publish()  # the second fetch finds a story: every channel fails
            codes.append(main(["--config", str(config), *args]))
    out = capsys.readouterr()
    # the second fetch exits 1: every alert failed, which a cron job must notice
    assert codes == [0, 1, 0, 0, 1, 1], out.err[-3000:]
    assert "authentication failed: 535" in out.out
    assert_clean(out.out + out.err)
    rows = Store.open(f"sqlite:///{world.tmp_path}/ow.db").alerts()
    assert {r.channel: r.status for r in rows} == {"hook": "failed", "mail": "failed"}
    assert_clean(" ".join(r.last_error or "" for r in rows))
    assert auth.mechanisms, "the server was asked to log in"


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("whsec_", "nothing after whsec_"),
        ("whsec_Zm9v-bad", "not whsec_<base64>"),
        ("whsec_c2hvcnQ=", "decodes to 5 bytes"),
        ("whsec_" + "QUFB" * 30, "decodes to 90 bytes"),
    ],
)
def test_check_config_refuses_a_secret_that_cannot_work(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    secret: str,
    reason: str,
) -> None:
    """An empty, non-base64, too short or too long whsec_ secret is exit 2 naming the channel."""
    monkeypatch.setenv("HOOK_SECRET", secret)
    config = world.config(
        f'\n[[alerts]]\nname = "newsroom"\ntype = "webhook"\nurl = "{world.rx.hook("/h")}"\n'
        'secret = "${HOOK_SECRET}"\n'
    )
    assert main(["--config", str(config), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "alerts.newsroom.secret" in err and reason in err
    assert secret.removeprefix("whsec_") not in err or secret == "whsec_"


def test_config_error_does_not_echo_a_bad_secret(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret without the whsec_ prefix is a config error that names the key, not the value."""
    monkeypatch.setenv("HOOK_SECRET", "not-a-whsec-SECRETVALUE-123")
    config = world.config(
        f'\n[[alerts]]\nname = "h"\ntype = "webhook"\nurl = "{world.rx.hook("/h")}"\n'
        'secret = "${HOOK_SECRET}"\n'
    )
    assert main(["--config", str(config), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "alerts[0].secret" in err and "SECRETVALUE" not in err
