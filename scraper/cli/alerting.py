"""`alerts list|retry|test|enable`: the alert queue and the channels, one function each."""

from __future__ import annotations

import argparse
import sys

from scraper.cli.common import print_json, settings_from, store_from
from scraper.clock import utcnow
from scraper.run.tasks import send_test


def cmd_alerts_list(args: argparse.Namespace) -> int:
    store = store_from(settings_from(args))
    for off in store.disabled_channels():  # on stderr with --json, keeping stdout JSON lines
        print(
            f"channel {off.name} DISABLED since {off.since:%Y-%m-%d %H:%M} UTC "
            f"({off.reason}); its alerts are held: ofsted-watch alerts enable {off.name}",
            file=sys.stderr if args.json else sys.stdout,
        )
    for row in store.alerts(status=args.status):
        if args.json:
            print_json(
                {
                    "id": row.id,
                    "channel": row.channel,
                    "status": row.status,
                    "attempts": row.attempts,
                    "message_id": row.message_id,
                    "detection_id": row.detection_id,
                    "title": row.title,
                    "next_attempt_at": row.next_attempt_at.isoformat(),
                    "last_error": row.last_error,
                }
            )
        else:
            print(
                f"{row.id:6d} {row.status:9} {row.channel[:16]:16} "
                f"attempts={row.attempts} {row.title[:60]}"
                + (f"  last error: {row.last_error}" if row.last_error else "")
            )
    return 0


def cmd_alerts_retry(args: argparse.Namespace) -> int:
    store = store_from(settings_from(args))
    print(f"requeued {store.requeue_alerts(utcnow(), args.ids or None)} alert(s)")
    for name in [] if args.ids else store.enable_channels(utcnow()):
        print(f"re-enabled channel {name}")
    return 0


def cmd_alerts_enable(args: argparse.Namespace) -> int:
    store = store_from(settings_from(args))
    enabled = store.enable_channels(utcnow(), [args.name])
    if args.name not in enabled:
        print(f"channel {args.name} is not disabled")
        return 0
    print(f"re-enabled channel {args.name}; requeued {enabled[args.name]} alert(s)")
    return 0


def cmd_alerts_test(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    delivery = send_test(settings, store_from(settings), args.name)
    print(f"{args.name}: {delivery.outcome}" + (f" ({delivery.detail})" if delivery.detail else ""))
    return 0 if delivery.outcome == "delivered" else 1


ALERTS_COMMANDS = {
    "list": cmd_alerts_list,
    "retry": cmd_alerts_retry,
    "test": cmd_alerts_test,
    "enable": cmd_alerts_enable,
}


def cmd_alerts(args: argparse.Namespace) -> int:
    return ALERTS_COMMANDS[args.alerts_command](args)
