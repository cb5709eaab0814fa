"""`pilot-portal export <what> --out FILE.xlsx|.md` — one `export` command whose
sub-commands write a workbook or Markdown file: the playbook pack, the Q&A manual and the
weekly review (`export weekly [--week 2026-W47] [--pilot ID …] --out FILE.xlsx [--lang zh|en]`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from portal import db, playbook, qa, weekly
from portal.access import CLI_ACTOR
from portal.cli.progress import ProgressBar
from portal.errors import ValidationFailed
from portal.i18n import LANGUAGES, translate

SUFFIXES = (".xlsx", ".md")


def out_path(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() not in SUFFIXES:
        raise argparse.ArgumentTypeError("--out must end in .xlsx or .md / 输出文件须为 .xlsx 或 .md")
    return path


def xlsx_path(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() != ".xlsx":
        raise argparse.ArgumentTypeError("--out must end in .xlsx / 输出文件须为 .xlsx")
    return path


def register(sub) -> None:  # noqa: ANN001
    export = sub.add_parser("export", help="write an export file (.xlsx or .md)").add_subparsers(
        dest="export_cmd", required=True)
    p = export.add_parser("playbook", help="the playbook pack: a package, all packages, or a pilot's set-up")
    p.add_argument("--pilot", type=int, help="pilot id: its adopted package, checklist and targets")
    p.add_argument("--package", default=None, help="package code (default: all nine packages)")
    p.add_argument("--out", required=True, type=out_path)
    p.set_defaults(func=cmd_playbook)
    p = export.add_parser("qa", help="the published Q&A manual, grouped by category")
    p.add_argument("--category", default=None, choices=qa.CATEGORIES)
    p.add_argument("--out", required=True, type=out_path)
    p.set_defaults(func=cmd_qa)
    p = export.add_parser("weekly", help="the weekly review workbook (8 sheets) of an ISO week")
    p.add_argument("--week", default=None, help="ISO week like 2026-W47 (default: the last complete week, "
                                                 "Asia/Shanghai)")
    p.add_argument("--pilot", type=int, nargs="+", action="extend", default=None, metavar="ID",
                   help="pilot ids (default: every pilot running during the week)")
    p.add_argument("--out", required=True, type=xlsx_path)
    p.add_argument("--lang", default="zh", choices=sorted(LANGUAGES), help="header language (default zh)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_weekly)


def write(path: Path, data: bytes) -> None:
    """Write through a temporary file so a failed export never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(data)
    tmp.replace(path)
    print(f"已导出 / exported: {path}")


def cmd_playbook(args) -> int:  # noqa: ANN001
    from exports import playbook as export

    pack = db.run(playbook.pack, write=False, actor=CLI_ACTOR, package_code=args.package, pilot_id=args.pilot)
    write(args.out, export.to_xlsx(pack) if args.out.suffix.lower() == ".xlsx" else export.to_markdown(pack))
    return 0


def cmd_qa(args) -> int:  # noqa: ANN001
    from exports import qa as export

    rows = db.run(qa.manual, write=False, actor=CLI_ACTOR, category=args.category)
    lang = CLI_ACTOR.language
    write(args.out, export.to_xlsx(rows, lang=lang) if args.out.suffix.lower() == ".xlsx"
          else export.to_markdown(rows, lang=lang))
    return 0


def cmd_weekly(args) -> int:  # noqa: ANN001
    """Validates the week first (a bad --week exits with code 2 and the reason), then builds,
    writes and audits the workbook as the operator ("cli", HQ rights)."""
    week = args.week if args.week is not None else weekly.last_complete_week()
    try:
        weekly.parse_week(week)
    except ValidationFailed as exc:
        print(f"错误 / error: {translate('zh', exc.key, **exc.params)}\n{translate('en', exc.key, **exc.params)}",
              file=sys.stderr)
        return 2
    progress = None if args.quiet else ProgressBar()
    write(args.out, weekly.build(actor=CLI_ACTOR, week=week, pilot_ids=args.pilot, lang=args.lang,
                                 progress=progress))
    return 0
