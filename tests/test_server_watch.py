"""The Prefect server watch: a server that stops answering is reported once, after the set time."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from tests.prefect_server import free_port
from tunepipe import server_watch


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_answers_only_while_the_server_does() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api"
    assert server_watch.answers(url)
    server.shutdown()
    server.server_close()
    assert not server_watch.answers(url, timeout=1)


def test_a_silent_server_is_reported_once_after_the_time_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_watch, "CHECK_EVERY", 0.05)
    reported: list[float] = []
    started = time.monotonic()
    thread = server_watch.watch(f"http://127.0.0.1:{free_port()}/api", reported.append, lost_after=0.5)
    thread.join(timeout=10)
    assert not thread.is_alive() and len(reported) == 1
    assert 0.5 <= reported[0] and time.monotonic() - started >= 0.5


@pytest.mark.parametrize(("value", "seconds"), [(None, 60.0), ("15", 15.0), ("0", 5.0), ("soon", 60.0)])
def test_the_time_comes_from_the_environment(value: str | None, seconds: float) -> None:
    environ = {} if value is None else {server_watch.LOST_VARIABLE: value}
    assert server_watch.lost_after(environ) == seconds
