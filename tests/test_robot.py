"""Group-robot push against a local HTTP server that answers like the WeCom robot API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from portal import robot
from portal.errors import ValidationFailed


class Robot:
    def __init__(self, answers: list):
        self.answers, self.received = list(answers), []

    def __enter__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append(body)
                answer = outer.answers.pop(0) if outer.answers else {"errcode": 0, "errmsg": "ok"}
                if answer == "slow":
                    time.sleep(robot.TIMEOUT_SECONDS + 0.5)
                    answer = {"errcode": 0, "errmsg": "ok"}
                status = 500 if answer == 500 else 200
                payload = b"{}" if status == 500 else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=secret-key-123"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


PAYLOAD = {"msgtype": "markdown", "markdown": {"content": "## 排行"}}


def test_success_sends_markdown_json():
    with Robot([{"errcode": 0, "errmsg": "ok"}]) as r:
        assert robot.post(r.url, PAYLOAD)["errcode"] == 0
    assert r.received == [PAYLOAD]


def test_errcode_is_a_clear_error():
    with Robot([{"errcode": 93000, "errmsg": "invalid webhook url"}]) as r, pytest.raises(ValidationFailed) as err:
        robot.post(r.url, PAYLOAD)
    assert "93000" in err.value.params["detail"] and "secret-key" not in str(err.value.params)


def test_one_retry_after_a_server_error():
    with Robot([500, {"errcode": 0, "errmsg": "ok"}]) as r:
        robot.post(r.url, PAYLOAD)
    assert len(r.received) == 2
    with Robot([500, 500, {"errcode": 0}]) as r, pytest.raises(ValidationFailed):
        robot.post(r.url, PAYLOAD)
    assert len(r.received) == 2  # exactly one retry


def test_timeout_then_retry(monkeypatch):
    monkeypatch.setattr(robot, "TIMEOUT_SECONDS", 0.3)
    with Robot(["slow", "slow"]) as r, pytest.raises(ValidationFailed) as err:
        robot.post(r.url, PAYLOAD)
    assert err.value.key == "contests.err_push" and len(r.received) == 2


def test_markdown_keeps_within_limit_and_top_n():
    board = pd.DataFrame({"rank": range(1, 301), "name": ["员工" * 10] * 300, "points": [10.5] * 300,
                          "move": [1, -1, 0] * 100})
    text = robot.ranking_markdown("积分赛", pd.Timestamp("2026-11-18").date(), board, top=300)
    assert len(text.encode()) <= robot.MAX_BYTES and text.startswith("## 积分赛")
    short = robot.ranking_markdown("积分赛", pd.Timestamp("2026-11-18").date(), board, top=3)
    assert short.count(" 分") == 3 and "🥇" in short and "▲1" in short and "▼1" in short
