"""Alerts end to end: `ofsted-watch fetch` against a loopback feed, a loopback webhook receiver
and aiosmtpd, then the `alerts` commands. The first fetch is a silent baseline; then the feed
gains a story about a watched council and that detection is delivered."""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from standardwebhooks import Webhook

from scraper.alerts.channels.signing import generate_secret
from scraper.cli.commands import main
from scraper.store import Store
from scraper.store.schema import alerts
from tests.httpserver import FIXTURES, LocalServer, Request, Response
from tests.receiver import Receiver, body_json, spec_verify
from tests.smtpserver import Recorder, smtp_server
from tests.trickle import Trickler

EMPTY_RSS = re.compile(rb"<item>.*?</item>", re.S)
FEEDS = {"kennet": "news/kennet_radio.xml", "google": "news/google_news_reading.xml"}
FORMATS = ("json", "slack", "teams", "discord")


@dataclass
class World:
    """A feed server (empty until `publish`), a webhook receiver and an SMTP server."""

    tmp_path: Path
    feed: LocalServer
    rx: Receiver
    smtp: Recorder
    smtp_port: int
    full: dict[str, bool] = field(default_factory=lambda: {"on": False})
    secrets: dict[str, str] = field(default_factory=dict)

    def publish(self) -> None:
        self.full["on"] = True

    def webhook(
        self, name: str, *replies: int | Response, extra: str = "", fmt: str = "json"
    ) -> str:
        secret = self.secrets.setdefault(name, generate_secret())
        url = self.rx.hook(f"/{name}", *replies)
        return (
            f'\n[[alerts]]\nname = "{name}"\ntype = "webhook"\nurl = "{url}"\n'
            f'format = "{fmt}"\nsecret = "{secret}"\nallow_private = true\ntimeout = 5\n{extra}\n'
        )

    def email(self, name: str, extra: str = "") -> str:
        return (
            f'\n[[alerts]]\nname = "{name}"\ntype = "email"\nsmtp_host = "127.0.0.1"\n'
            f'smtp_port = {self.smtp_port}\nsecurity = "none"\nfrom = "ofsted-watch@example.org"\n'
            f'to = ["team@example.org", "desk@example.org"]\ntimeout = 10\n{extra}\n'
        )

    def config(
        self, channels: str, *, feeds: tuple[str, ...] = ("kennet",), storage: str | None = None
    ) -> Path:
        sources = "".join(
            f'\n[[sources]]\nname = "{f}"\ntype = "feed"\nurl = "{self.feed.url("/" + f)}"\n'
            for f in feeds
        )
        path = self.tmp_path / "ofsted-watch.toml"
        path.write_text(
            f"""
[storage]
url = "{storage or f"sqlite:///{self.tmp_path}/ow.db"}"

[http]
user_agent = "ofsted-watch-test/1.0 (+mailto:test@example.org)"
allow_private = true
min_interval = 0.01
retries = 0
timeout = 5
deadline = 10
respect_robots = false

[daemon]
listen = ""
alert_lease = "1s"
alert_wait = "1s"

[watchlist]
councils = ["West Berkshire", "Reading", "Bath and North East Somerset"]
{sources}
{channels}
""",
            encoding="utf-8",
        )
        return path


def _serve(world_full: dict[str, bool], relative: str) -> Callable[[Request], Response]:
    def respond(_request: Request) -> Response:
        data = (FIXTURES / relative).read_bytes()
        body = data if world_full["on"] else EMPTY_RSS.sub(b"", data)
        return Response(body=body, headers={"Content-Type": "application/rss+xml"})

    return respond


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    recorder = Recorder()
    with LocalServer() as feed, Receiver() as rx, smtp_server(recorder) as smtp:
        w = World(tmp_path, feed, rx, recorder, smtp.port)
        for name, relative in FEEDS.items():
            feed.route(f"/{name}", _serve(w.full, relative))
        yield w


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def baseline_then_publish(world: World, config: Path, code: int = 0) -> None:
    """A baseline fetch sends nothing; the next finds the stories (exit 1: no alert got out)."""
    assert run(config, "fetch") == 0
    assert world.rx.posts() == [] and world.smtp.envelopes == []
    world.publish()
    assert run(config, "fetch") == code


def store_of(world: World) -> Store:
    return Store.open(f"sqlite:///{world.tmp_path}/ow.db")


# ---- acceptance: one detection, one delivery per channel, signed ----------------------------


def test_fetch_delivers_one_signed_webhook_per_format_and_one_email(world: World) -> None:
    """One detection gives exactly one signed POST per channel (4 formats) and one email; a
    second fetch sends nothing more."""
    channels = "".join(world.webhook(fmt, fmt=fmt) for fmt in FORMATS) + world.email("mail")
    config = world.config(channels)
    baseline_then_publish(world, config)
    for fmt in FORMATS:
        (post,) = world.rx.posts(f"/{fmt}")
        secret = world.secrets[fmt]
        assert spec_verify(secret, post.headers, post.body), fmt
        Webhook(secret).verify(post.body, dict(post.headers))  # the official library agrees
        assert post.headers["content-type"] == "application/json"
        assert post.headers["webhook-id"].startswith("msg_")
        assert post.headers["idempotency-key"] == post.headers["webhook-id"]
    data = body_json(world.rx.posts("/json")[0])["data"]
    assert data["councils"][0]["gss_code"] == "E06000037"
    assert data["kind"] == "news_article" and data["report_type"] == "monitoring_visit"
    (envelope,) = world.smtp.envelopes
    assert sorted(envelope.rcpt_tos) == ["desk@example.org", "team@example.org"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Subject"] == (
        "[ofsted-watch] News: Positive improvements made to Children’s Services in West Berkshire"
    )
    mail_row = next(r for r in store_of(world).alerts() if r.channel == "mail")
    assert message["Message-ID"] == f"<alert-{mail_row.message_id}@ofsted-watch>"
    assert run(config, "fetch") == 0
    assert len(world.rx.posts()) == 4 and len(world.smtp.envelopes) == 1
    assert store_of(world).queue_depth()["delivered"] == 5


def test_fetch_routing_filters_send_each_alert_only_where_it_belongs(world: World) -> None:
    """Two channels filtered differently get exactly the detections their filters select."""
    channels = world.webhook("reading", extra='councils = ["Reading"]')
    channels += world.webhook(
        "wb-inspections", extra='councils = ["West Berkshire"]\nreport_types = ["inspection"]'
    )
    channels += world.webhook("visits", extra='report_types = ["monitoring_visit"]')
    channels += world.webhook("reports-only", extra='kinds = ["ofsted_report"]')
    config = world.config(channels, feeds=("google", "kennet"))
    baseline_then_publish(world, config)

    def got(name: str) -> list[tuple[str, str]]:
        posts = [body_json(p)["data"] for p in world.rx.posts(f"/{name}")]
        return sorted((d["councils"][0]["name"], d["report_type"]) for d in posts)

    reading = got("reading")
    assert len(reading) == 3 and {c for c, _ in reading} == {"Reading"}
    assert got("wb-inspections") == [("West Berkshire", "inspection")]
    assert got("visits") == [("West Berkshire", "monitoring_visit")]
    assert got("reports-only") == []
    rows = store_of(world).alerts()
    assert {r.channel for r in rows} == {"reading", "wb-inspections", "visits"}
    assert all(r.status == "delivered" for r in rows)


def test_fetch_sends_digests_that_are_due(world: World) -> None:
    """A daily digest channel holds its alerts; the first fetch after the slot sends one email."""
    config = world.config(
        world.email("digest", 'digest = "daily"\ndigest_at = "08:00"'), feeds=("google",)
    )
    baseline_then_publish(world, config)
    assert world.smtp.envelopes == [], "digest items wait for their slot"
    store = store_of(world)
    assert {r.status for r in store.alerts()} == {"pending"}
    with store.engine.begin() as conn:  # the items were queued two days ago
        conn.execute(update(alerts).values(created_at=datetime.now(UTC) - timedelta(days=2)))
    assert run(config, "fetch") == 0
    (envelope,) = world.smtp.envelopes
    assert b"Daily digest: 4 new items" in envelope.original_content
    assert {r.status for r in store.alerts()} == {"delivered"}
    assert run(config, "fetch") == 0 and len(world.smtp.envelopes) == 1


# ---- the alerts commands ---------------------------------------------------------------------


def test_alerts_list_retry_and_test_from_the_cli(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """`alerts list` shows a dead alert, `alerts retry ID` requeues it, the next fetch sends it,
    and `alerts test` reports the outcome in its exit code."""
    config = world.config(world.webhook("hook", 400) + world.webhook("flaky", 500, 500))
    baseline_then_publish(world, config, code=1)
    capsys.readouterr()
    assert run(config, "alerts", "list", "--status", "dead", "--json") == 0
    (dead,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (dead["channel"], dead["status"], dead["attempts"]) == ("hook", "dead", 1)
    assert dead["last_error"].startswith("HTTP 400")
    assert run(config, "alerts", "list") == 0
    text = capsys.readouterr().out
    assert re.search(r"dead\s+hook\s+attempts=1 Positive improvements.*last error: HTTP 400", text)
    assert re.search(r"failed\s+flaky\s+attempts=1", text)

    assert run(config, "alerts", "retry", str(dead["id"])) == 0
    assert "requeued 1 alert(s)" in capsys.readouterr().out
    assert run(config, "alerts", "list", "--status", "pending", "--json") == 0
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == [dead["id"]]
    assert run(config, "fetch") == 0
    assert len(world.rx.posts("/hook")) == 2
    assert {p.headers["webhook-id"] for p in world.rx.posts("/hook")} == {dead["message_id"]}
    assert run(config, "alerts", "retry") == 0  # every failed/dead row: "flaky" is failed
    assert "requeued 1 alert(s)" in capsys.readouterr().out

    assert run(config, "alerts", "test", "hook") == 0
    assert capsys.readouterr().out.strip() == "hook: delivered (HTTP 200)"
    test_post = world.rx.posts("/hook")[-1]
    assert test_post.headers["webhook-id"].startswith("msg_test-")  # fresh on every test
    assert spec_verify(world.secrets["hook"], test_post.headers, test_post.body)
    world.rx.hook("/flaky", 503)  # a fresh script: down again
    assert run(config, "alerts", "test", "flaky") == 1
    assert "flaky: retry (HTTP 503)" in capsys.readouterr().out
    assert run(config, "alerts", "test", "nope") == 2


def test_alerts_enable_after_410_from_the_cli(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 410 disables the channel: the fallback email tells the owner once, `alerts list` says so
    first (on stderr with --json), the alerts wait, `alerts enable` lets every one through, and
    a bare `alerts retry` re-enables disabled channels too."""
    desk = world.email("desk", 'kinds = ["ofsted_report"]')
    config = world.config(
        world.webhook("hook", 410, extra='fallback = "desk"') + desk, feeds=("kennet", "google")
    )
    baseline_then_publish(world, config)
    (envelope,) = world.smtp.envelopes
    assert b"disabled the channel hook" in envelope.original_content
    capsys.readouterr()
    assert run(config, "alerts", "list") == 0
    first, *_ = capsys.readouterr().out.splitlines()
    assert re.match(r"channel hook DISABLED since .* UTC \(HTTP 410.*alerts enable hook$", first)
    assert run(config, "alerts", "list", "--json", "--status", "pending") == 0
    out, err = capsys.readouterr()
    held = [json.loads(line) for line in out.splitlines()]
    assert "channel hook DISABLED" in err and {a["channel"] for a in held} == {"hook"}
    assert run(config, "fetch") == 0
    assert len(world.rx.posts("/hook")) == 1, "nothing is sent to a disabled channel"
    capsys.readouterr()
    assert run(config, "alerts", "enable", "hook") == 0
    assert capsys.readouterr().out.strip() == "re-enabled channel hook; requeued 1 alert(s)"
    assert run(config, "fetch") == 0
    assert sum(world.rx.ids("/hook").values()) == len(held) + 2
    assert len(world.rx.ids("/hook")) == len(held) + 1, "one id per alert; the 410 one twice"
    assert {r.status for r in store_of(world).alerts()} == {"delivered"}
    assert len(world.smtp.envelopes) == 1, "the owner was told once"
    capsys.readouterr()
    assert run(config, "alerts", "enable", "hook") == 0
    assert capsys.readouterr().out.strip() == "channel hook is not disabled"
    store = store_of(world)
    store.bury_alert(store.alerts()[0].id, datetime.now(UTC), "HTTP 410", disable="hook")
    assert run(config, "alerts", "retry") == 0
    assert capsys.readouterr().out.splitlines() == [
        "requeued 1 alert(s)",
        "re-enabled channel hook",
    ]
    assert store.disabled_channels() == []


def test_alerts_test_is_clearly_a_test(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """`alerts test` says TEST in the webhook title and the email subject, names a watched
    council, uses a fresh webhook-id each time, and an unknown name lists the channels."""
    config = world.config(world.webhook("hook") + world.email("mail"))
    assert run(config, "alerts", "test", "hook") == 0
    assert run(config, "alerts", "test", "hook") == 0
    first, second = (body_json(p) for p in world.rx.posts("/hook"))
    ids = {p.headers["webhook-id"] for p in world.rx.posts("/hook")}
    assert len(ids) == 2, "a fresh webhook-id each time, so receivers do not drop the second"
    assert first["type"] == "detection.test" and first["data"]["title"].startswith("TEST")
    assert first["data"]["councils"][0]["name"] == "West Berkshire"  # first on the watchlist
    assert first["data"]["id"] != second["data"]["id"]
    assert run(config, "alerts", "test", "mail") == 0
    (envelope,) = world.smtp.envelopes
    subject = email.message_from_bytes(envelope.original_content)["Subject"]
    assert subject.startswith("[ofsted-watch] TEST")
    capsys.readouterr()
    assert run(config, "alerts", "test", "nope") == 2
    assert "(configured: hook, mail)" in capsys.readouterr().err


def test_alerts_test_to_a_silent_smtp_port_fails_in_seconds(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """An email channel pointed at a port that never answers (timeout 30 s) fails the test
    within about ten seconds, with the reason."""
    with Trickler(b" ", interval=60, read_first=False) as silent:  # accepts, then says nothing
        mail = world.email("mail").replace(
            f"smtp_port = {world.smtp_port}", f"smtp_port = {silent.port}"
        )
        config = world.config(mail.replace("timeout = 10", "timeout = 30"))
        started = time.monotonic()
        assert run(config, "alerts", "test", "mail") == 1
        elapsed = time.monotonic() - started
    assert elapsed < 12, elapsed
    assert "mail: retry (timed out after 10 s)" in capsys.readouterr().out


def test_fetch_leaves_a_far_retry_queued_says_so_and_exits_1(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A receiver asking for an hour's pause is not waited for: fetch says the alert is left
    queued and exits 1, since no alert got through."""
    busy = Response(status=503, headers={"Retry-After": "3600"})
    config = world.config(world.webhook("hook", busy))
    baseline_then_publish(world, config, code=1)
    out = capsys.readouterr().out
    assert re.search(r"alerts: \d+ left queued; next attempt \d\d:\d\d:\d\d UTC", out)
    assert {r.status for r in store_of(world).alerts()} == {"failed"}
