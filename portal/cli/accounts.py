"""`pilot-portal user add|passwd|disable|enable|list` — passwords from a prompt or stdin only."""

from __future__ import annotations

import getpass
import sys

from portal import db, users
from portal.access import CLI_ACTOR
from portal.errors import ValidationFailed


def register(sub) -> None:  # noqa: ANN001
    user = sub.add_parser("user", help="manage user accounts").add_subparsers(dest="user_cmd", required=True)
    p = user.add_parser("add", help="create a user (password asked for, or read from stdin)")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=["hq", "coach", "branch_lead", "staff"])
    p.add_argument("--name", default="")
    p.add_argument("--branch", action="append", default=[], help="branch code in scope (repeatable)")
    p.add_argument("--staff-no", default="")
    p.add_argument("--language", default="zh", choices=["zh", "en"])
    p.set_defaults(func=cmd_add)
    p = user.add_parser("passwd", help="set a new password")
    p.add_argument("username")
    p.set_defaults(func=cmd_passwd)
    for name, active in (("disable", False), ("enable", True)):
        p = user.add_parser(name, help=f"{name} an account")
        p.add_argument("username")
        p.set_defaults(func=cmd_set_active, active=active)
    p = user.add_parser("list", help="list accounts")
    p.set_defaults(func=cmd_list)


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再次输入 / repeat: ") != first:
        raise ValidationFailed("account.err_mismatch")
    return first


def _branch_ids(session, *, codes: list[str]) -> list[int]:  # noqa: ANN001
    from sqlmodel import col, select

    from models.org import Branch

    found = dict(session.exec(select(Branch.code, Branch.id).where(col(Branch.code).in_(codes or ["-"]))).all())
    missing = [c for c in codes if c not in found]
    if missing:
        raise ValidationFailed("users.err_branch", ids=missing)
    return [found[c] for c in codes]


def cmd_add(args) -> int:  # noqa: ANN001
    branch_ids = db.run(_branch_ids, write=False, codes=args.branch)
    password = read_password()
    db.run(users.create_user, actor=CLI_ACTOR, username=args.username, password=password, role=args.role,
           display_name=args.name, branch_ids=branch_ids, staff_no=args.staff_no, language=args.language)
    print(f"已创建 / created: {args.username}")
    return 0


def cmd_passwd(args) -> int:  # noqa: ANN001
    db.run(users.reset_password, actor=CLI_ACTOR, username=args.username, new_password=read_password())
    print(f"密码已更新 / password updated: {args.username}")
    return 0


def cmd_set_active(args) -> int:  # noqa: ANN001
    db.run(users.update_user, actor=CLI_ACTOR, username=args.username, active=args.active)
    print(f"{'已启用 / enabled' if args.active else '已停用 / disabled'}: {args.username}")
    return 0


def cmd_list(args) -> int:  # noqa: ANN001
    df = db.run(users.list_users, write=False, actor=CLI_ACTOR)
    print(df.to_string(index=False) if not df.empty else "(无用户 / no users)")
    return 0
