"""The weekly review's download buttons on the portfolio and pilot pages (AppTest on the demo
database), and the button and the command line producing the same workbook."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from models.org import User
from portal import access, db, pilots, weekly
from portal.cli import main
from tests.apptest import goto, open_as

LABELS = {"portfolio": "下载周报（Excel）", "pilot_overview": "下载本试点周报（Excel）"}


@pytest.fixture
def spy(monkeypatch):
    """Records the builder each rendered button hands to st.download_button."""
    calls = []
    real = weekly.download

    def download(actor, **kw):
        calls.append((actor, kw))
        return real(actor, **kw)

    monkeypatch.setattr(weekly, "download", download)
    return calls


def actor_of(username: str):
    def load(session):
        user = session.exec(select(User).where(User.username == username)).one()
        return access.load_actor(session, user.id)
    return db.run(load, write=False)


def cells(content: bytes) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(content))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


@pytest.mark.parametrize("username", ["hq_wang", "coach_li"])
@pytest.mark.parametrize("page", ["portfolio", "pilot_overview"])
def test_download_button_is_on_the_page(demo_db, spy, username, page):
    at = goto(open_as(username), page)
    assert not at.exception, at.exception
    assert LABELS[page] in [b.label for b in at.download_button]
    week = at.selectbox(key="weekly_pilot_week" if page == "pilot_overview" else "weekly_week")
    assert week.value == weekly.last_complete_week()
    actor, kw = spy[-1]
    assert actor.username == username and kw["week"] == weekly.last_complete_week()
    assert (kw["pilot_ids"] is None) == (page == "portfolio")


def test_button_and_cli_produce_the_same_workbook(demo_db, spy, tmp_path):
    at = goto(open_as("hq_wang"), "portfolio")
    assert not at.exception
    actor, kw = spy[-1]
    from_button = weekly.download(actor, **kw)()
    out = tmp_path / "weekly.xlsx"
    assert main(["export", "weekly", "--out", str(out), "--quiet"]) == 0
    from_cli, from_page = cells(out.read_bytes()), cells(from_button)
    assert list(from_cli) == list(from_page) and len(from_cli) == 8
    for title in from_cli:
        assert from_cli[title] == from_page[title], title
    assert len(from_cli["日报明细"]) > 100  # the demo week really has data


def test_pilot_button_and_cli_agree_and_a_coach_gets_only_their_pilots(demo_db, spy, tmp_path):
    at = goto(open_as("coach_li"), "pilot_overview")
    assert not at.exception
    actor, kw = spy[-1]
    (pilot_id,) = kw["pilot_ids"]
    from_button = cells(weekly.download(actor, **kw)())
    out = tmp_path / "pilot.xlsx"
    assert main(["export", "weekly", "--week", kw["week"], "--pilot", str(pilot_id), "--out", str(out),
                 "--quiet"]) == 0
    assert cells(out.read_bytes()) == from_button
    mine = set(db.run(pilots.list_pilots, write=False, actor=actor)["name"])
    summary = [r[0] for r in cells(weekly.build(actor=actor, week=kw["week"]))["汇总"][2:-1]]
    everyone = [r[0] for r in cells(weekly.build(actor=actor_of("hq_wang"), week=kw["week"]))["汇总"][2:-1]]
    assert summary and set(summary) <= mine
    assert set(everyone) - mine  # head office also sees pilots coach_li does not coach
