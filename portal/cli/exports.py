"""`pilot-portal export <what> --out FILE.xlsx|.md` — one `export` command whose
sub-commands write a workbook or Markdown file (later issues add more, e.g. `weekly`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from portal import db, playbook, qa
from portal.access import CLI_ACTOR

SUFFIXES = (".xlsx", ".md")


def out_path(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() not in SUFFIXES:
        raise argparse.ArgumentTypeError("--out must end in .xlsx or .md / 输出文件须为 .xlsx 或 .md")
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
