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


def test_the_pushed_ranking_links_to_the_phone_page_when_the_public_address_is_set(demo_db, monkeypatch):
    from sqlmodel import Session

    from models.contests import Contest
    from portal import db, settings
    from portal.access import CLI_ACTOR

    with Session(demo_db) as s:
        contest = s.get(Contest, 1)
        contest.webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test"
        s.add(contest)
        s.commit()
    _url, text = db.run(robot.prepare, write=False, actor=CLI_ACTOR, contest_id=1)
    assert "/m/ranking" not in text and "登录门户" in text
    try:
        monkeypatch.setenv("PORTAL_PUBLIC_URL", "https://pilot.bank.example/")
        settings.get_settings.cache_clear()
        _url, text = db.run(robot.prepare, write=False, actor=CLI_ACTOR, contest_id=1)
        assert text.endswith("[打开手机排名页查看本人名次](https://pilot.bank.example/m/ranking?contest=1)")
        monkeypatch.setenv("PORTAL_PUBLIC_URL", "javascript:alert(1)")
        settings.get_settings.cache_clear()
        with pytest.raises(ValueError):
            settings.get_settings()
    finally:  # the database fixture's teardown reads the settings again
        monkeypatch.delenv("PORTAL_PUBLIC_URL")
        settings.get_settings.cache_clear()
