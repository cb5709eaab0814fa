"""`pilot-portal import <what> FILE.xlsx ...` — one `import` command whose sub-commands load a
workbook (later issues may add more). Exit 0 when imported (or, with --dry-run, when valid),
2 when any row has a problem (nothing is written then)."""

from __future__ import annotations

import sys
from pathlib import Path

from portal import db, report_import
from portal.access import CLI_ACTOR
from portal.errors import ValidationFailed


def register(sub) -> None:  # noqa: ANN001
    imp = sub.add_parser("import", help="import a workbook (all rows or none)").add_subparsers(
        dest="import_cmd", required=True)
    p = imp.add_parser("reports", help="daily reports from the report template")
    p.add_argument("file", type=Path)
    p.add_argument("--pilot", type=int, required=True, help="pilot id")
    p.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    p.set_defaults(func=cmd_reports)


def cmd_reports(args) -> int:  # noqa: ANN001
    try:
        data = args.file.read_bytes()
    except OSError as exc:  # missing, a directory, unreadable: a message, not a traceback
        raise ValidationFailed("upload.err_read", path=str(args.file)) from exc
    result = db.run(report_import.import_reports, actor=CLI_ACTOR, pilot_id=args.pilot, data=data,
                    filename=args.file.name, dry_run=args.dry_run)
    errors = result["errors"]
    for e in errors.itertuples(index=False):
        print(f"{e.sheet}!{e.row}: {e.message}", file=sys.stderr)
    if len(errors):
        print(f"{len(errors)} 处错误，未导入任何数据 / {len(errors)} problems: nothing imported", file=sys.stderr)
        return 2
    days = len(result["dates"])
    if args.dry_run:
        print(f"校验通过（未写入）/ valid, not written: {result['rows']} rows, {days} days")
    else:
        print(f"已导入 / imported: {result['rows']} rows, {days} days, {result['changed']} changed")
    return 0
