"""`pilot-portal` command line: init, demo, serve, user, backup (export/import join later)."""

from __future__ import annotations

import argparse
import sys

from portal.cli import accounts, admin, contests, exports, imports
from portal.errors import PortalError
from portal.i18n import translate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pilot-portal", description="企微试点陪跑门户 Branch Pilot Portal")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (admin, accounts, contests, exports, imports):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PortalError as exc:
        params = {k: (", ".join(map(str, v)) if isinstance(v, list | tuple | set) else v)
                  for k, v in exc.params.items()}
        print(f"错误 / error: {translate('zh', exc.key, **params)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
