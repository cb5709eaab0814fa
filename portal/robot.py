"""Push the day's ranking to a WeCom group robot (webhook, markdown message).

The robot answers JSON {"errcode": 0, "errmsg": "ok"}; any other errcode is an error to
show. One retry on a network failure or 5xx, with a short timeout; the URL (it contains the
robot's key) is never logged, audited or shown."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date

from sqlmodel import Session

from portal import audit, clock, contests, db, leaderboard, ranking_card
from portal.access import Actor
from portal.errors import ValidationFailed
from portal.navigation import PHONE_RANKING_PATH
from portal.settings import get_settings

TIMEOUT_SECONDS = 5
MAX_BYTES = 4096  # the robot's markdown content limit
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


def ranking_markdown(title: str, day: date, board, *, top: int, link: str = "") -> str:
    """Top N by this week's points; ties share a place. Names beyond top N never leave the bank.
    `link`: the phone ranking page, where each reader sees their own place."""
    lines = [f"## {title}", f"> {day.isoformat()} 本周积分排行（前 {top} 名）", ""]
    for row in board[board["rank"] <= top].itertuples():
        medal = MEDALS.get(int(row.rank), f"{int(row.rank)}.")
        move = ranking_card.move_text(int(row.move))
        lines.append(f"{medal} {row.name}  **{ranking_card.points_text(row.points)}** 分{' ' + move if move else ''}")
    footer = f"[打开手机排名页查看本人名次]({link})" if link else "详情请登录门户查看本人排名。"
    lines += ["", f"<font color=\"comment\">只统计有效添加；</font>{footer}"]
    text = "\n".join(lines)
    while len(text.encode()) > MAX_BYTES:
        lines.pop(-3)
        text = "\n".join(lines)
    return text


def post(url: str, payload: dict) -> dict:
    body = json.dumps(payload, ensure_ascii=False).encode()
    last_error = ""
    for _attempt in range(2):
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (validated URL)
                answer = json.loads(response.read().decode() or "{}")
            break
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}"
            if exc.code < 500:
                raise ValidationFailed("contests.err_push", detail=last_error) from exc
        except (urllib.error.URLError, TimeoutError, OSError, json.JSONDecodeError) as exc:
            last_error = type(exc).__name__ if not isinstance(exc, urllib.error.URLError) else "network"
    else:
        raise ValidationFailed("contests.err_push", detail=last_error)
    if answer.get("errcode", -1) != 0:
        raise ValidationFailed("contests.err_push", detail=f"errcode {answer.get('errcode')}: "
                                                           f"{str(answer.get('errmsg', ''))[:100]}")
    return answer


def prepare(session: Session, *, actor: Actor, contest_id: int, top: int = 10) -> tuple[str, str]:
    """(webhook URL, markdown) for the day's ranking, after the permission check."""
    contest = contests.require_contest(session, actor, contest_id, manage=True, action="contests.push")
    if not contest.webhook_url:
        raise ValidationFailed("contests.err_no_webhook")
    public = get_settings().public_url.rstrip("/")
    text = ranking_markdown(contest.name, clock.today(), leaderboard.board(session, contest, "week"),
                            top=min(top, contest.show_names_top or top),
                            link=f"{public}{PHONE_RANKING_PATH}?contest={contest.id}" if public else "")
    return contest.webhook_url, text


def _record(session: Session, *, actor: Actor, contest_id: int, size: int) -> None:
    audit.record(session, actor=actor, action="contests.push", entity="contest", entity_id=contest_id,
                 after={"day": clock.today(), "bytes": size})


def push_ranking(*, actor: Actor, contest_id: int, engine=None) -> str:  # noqa: ANN001
    """Read, send, then audit, each in its own step: the HTTP call never holds a transaction."""
    url, text = db.run(prepare, engine=engine, write=False, actor=actor, contest_id=contest_id)
    post(url, {"msgtype": "markdown", "markdown": {"content": text}})
    db.run(_record, engine=engine, actor=actor, contest_id=contest_id, size=len(text.encode()))
    return text
