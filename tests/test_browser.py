"""One journey in real headless Chromium: `streamlit run` the portal, sign in as a coach,
see the coach home, refresh and stay signed in (HttpOnly cookie), sign out."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from portal import PACKAGE_DIR
from portal.cli.admin import streamlit_flags

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _browser_or_skip() -> None:
    missing = not Path(CHROMIUM).exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Debian's chromium and playwright installed (see .ci/run)")
        pytest.skip("no /usr/bin/chromium or playwright: install with apt-get install chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_file: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "PORTAL_DATABASE_URL": f"sqlite:///{db_file}"}
    cmd = [sys.executable, "-m", "streamlit", "run", str(PACKAGE_DIR / "server.py"),
           f"--server.port={port}", "--server.address=127.0.0.1", *streamlit_flags()]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=log.parent)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"server did not become healthy:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(demo_template, tmp_path):
    _browser_or_skip()
    db_file = tmp_path / "browser.db"
    shutil.copy(demo_template, db_file)
    proc, url = start_server(db_file, tmp_path / "server.log")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.browser
def test_coach_signs_in_sees_home_refreshes_and_signs_out(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server)
        page.get_by_label("用户名").fill("coach_li")
        page.get_by_label("密码").fill("Pilot#Demo2026")
        page.get_by_role("button", name="登录").click()
        # The coach's home is the Today list of checklist items.
        expect(page.get_by_role("heading", name="今日待办")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("李晨（陪跑教练） · 陪跑教练")).to_be_visible()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(Path(os.environ.get("PORTAL_SCREENSHOT_DIR", tmp_path)) / "coach_home.png"))
        # The session cookie is HttpOnly: scripts cannot read it.
        page.wait_for_timeout(1000)
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["pp_session"]["httpOnly"] is True
        assert "pp_session" not in page.evaluate("document.cookie")
        page.reload()
        expect(page.get_by_role("heading", name="今日待办")).to_be_visible(timeout=30_000)
        # Pilot pages draw only the open tab: picking another one reruns and draws it.
        page.get_by_role("link", name="试点详情").click()
        expect(page.get_by_role("tab", name="目标与实际")).to_be_visible(timeout=30_000)
        budget_line = page.get_by_text(re.compile(r"^已用 .+ / 额度 "))
        expect(budget_line).to_have_count(0)
        page.get_by_role("tab", name="预算").click()
        expect(budget_line.first).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_role("button", name="登录")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)
        page.reload()
        expect(page.get_by_role("button", name="登录")).to_be_visible(timeout=30_000)
        browser.close()


@pytest.mark.browser
def test_staff_opens_the_phone_ranking_signs_in_there_and_out_again(server, tmp_path):
    """The page staff open from WeCom: no Streamlit application, the portal's accounts."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{server}/m/ranking")
        page.get_by_label("用户名").fill("staff_demo")
        page.get_by_label("密码").fill("Pilot#Demo2026")
        page.get_by_role("button", name="登录").click()
        expect(page.locator("#board tr.me")).to_have_count(1, timeout=30_000)
        expect(page.get_by_text("我的名次")).to_be_visible()
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        page.screenshot(path=str(Path(os.environ.get("PORTAL_SCREENSHOT_DIR", tmp_path)) / "phone_ranking.png"),
                        full_page=True)
        page.reload()
        expect(page.locator("#board tr.me")).to_have_count(1, timeout=30_000)
        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_role("button", name="登录")).to_be_visible(timeout=30_000)
        assert not [c for c in page.context.cookies() if c["name"] == "pp_session"]
        browser.close()
