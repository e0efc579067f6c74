"""Serving the app: waitress in a thread (the daemon's) or in the foreground (`serve`).

waitress is a pure-Python threaded WSGI server: one thread runs its socket loop, a small pool
runs the app, which fits a daemon whose scheduler already works in threads. It is stopped from
another thread by asking its own loop (through its trigger) to close every socket, so a stop
never races the loop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from waitress.server import create_server

from scraper.errors import ScraperError
from scraper.web.app import Context, WebApp

log = logging.getLogger(__name__)
# With one worker thread a request waiting for the previous one is normal, not a warning.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)
THREADS = 1  # pages answer in tens of ms; each extra thread keeps ~1 MB of arena and cache


class WebServer:
    """The web app (with /healthz and /metrics) on one address."""

    def __init__(self, listen: str, ctx: Context) -> None:
        self.listen = listen
        try:
            self.server: Any = create_server(
                WebApp(ctx),
                listen=listen,
                threads=THREADS,
                ident="ofsted-watch",
                clear_untrusted_proxy_headers=True,
            )
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ScraperError(f"cannot listen on {listen}: {reason}") from exc
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._bound()
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _bound(self) -> tuple[str, int]:
        listening = getattr(self.server, "effective_listen", None)
        if listening:  # several sockets (a name that resolves to IPv4 and IPv6): the first
            host, port = listening[0]
        else:
            host, port = self.server.effective_host, self.server.effective_port
        return str(host), int(port)

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:  # the loop's sockets closed under it during stop()
            log.debug("web server loop ended", exc_info=True)

    def start(self) -> None:
        self.thread.start()
        log.info(
            "health endpoint listening on http://%s/healthz (web view at http://%s/)",
            self.address,
            self.address,
            extra={"event": "listening", "listen": self.address},
        )

    def serve_forever(self) -> None:
        """`serve`: run in the calling thread until interrupted."""
        log.info(
            "web view listening on http://%s/",
            self.address,
            extra={"event": "listening", "listen": self.address},
        )
        self._run()

    def stop(self) -> None:
        sockets = getattr(self.server, "map", None) or self.server._map

        def close_all() -> None:
            for dispatcher in list(sockets.values()):
                dispatcher.close()

        trigger = getattr(self.server, "trigger", None)
        if trigger is not None and self.thread.is_alive():
            trigger.pull_trigger(close_all)  # runs on the loop's own thread
        else:
            close_all()
        if self.thread.is_alive():
            self.thread.join(5)
        self.server.task_dispatcher.shutdown(timeout=5)
