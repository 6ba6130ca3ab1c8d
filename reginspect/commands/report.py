"""`reginspect report LOG...`: the migration attempts of QEMU logs, for terminals, CI and bugs."""

from __future__ import annotations

import argparse
import sys

from reginspect.errors import EXIT_USAGE, UserError
from reginspect.loading import load_logs
from reginspect.report import build_report, exit_status, render_json, render_markdown, render_text

HELP = (
    "Summarise the migration attempts in QEMU logs (stderr, -D trace files, libvirt domain logs; "
    "plain or .gz/.xz/.zst): missing, extra and matched CPU registers with names, and what to do. "
    "Exit status: 0 every attempt succeeded with no difference, 1 differences or failures, "
    "2 usage or input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="log files; - reads stdin")
    parser.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output form"
    )
    parser.add_argument(
        "--matched", action="store_true", help="list matched registers in the text form too"
    )


def run(args: argparse.Namespace) -> int:
    session, problems = load_logs(args.logs)
    attempts = session.attempts()
    if not attempts:
        total = session.line_count()
        what = "is empty" if total == 0 else f"has {total} lines but no migration attempt in it"
        names = ", ".join(session.sources)
        raise UserError(
            f"{names} {what}: give the destination QEMU's standard error or its -D trace file, "
            "or a libvirt domain log.",
            EXIT_USAGE,
        )
    report = build_report(session.sources, attempts, problems=problems)
    if args.format == "json":
        sys.stdout.write(render_json(report))
    elif args.format == "markdown":
        sys.stdout.write(render_markdown(report))
    else:
        sys.stdout.write(render_text(report, matched=args.matched))
    return exit_status(attempts)
