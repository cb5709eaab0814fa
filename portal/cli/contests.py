"""`pilot-portal push ranking --contest ID` — send today's ranking to the contest's WeCom group robot."""

from __future__ import annotations

from portal import robot
from portal.access import CLI_ACTOR


def register(sub) -> None:  # noqa: ANN001
    push = sub.add_parser("push", help="push messages to WeCom group robots").add_subparsers(
        dest="push_cmd", required=True)
    p = push.add_parser("ranking", help="push this week's ranking of a contest")
    p.add_argument("--contest", type=int, required=True)
    p.set_defaults(func=cmd_push_ranking)


def cmd_push_ranking(args) -> int:  # noqa: ANN001
    text = robot.push_ranking(actor=CLI_ACTOR, contest_id=args.contest)
    print(f"已推送 / pushed ({len(text.encode())} bytes)")
    return 0
