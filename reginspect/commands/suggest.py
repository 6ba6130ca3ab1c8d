"""`reginspect suggest LOG...`: only the ready-to-paste fixes for the attempts of the logs."""

from __future__ import annotations

import argparse
import sys

from reginspect.analyze import session_report
from reginspect.commands.report import add_fix_arguments, fixes_from_args, load_session
from reginspect.results import Form
from reginspect.textsafe import printable

HELP = (
    "Print only the ready-to-paste fixes for the migration failures in QEMU logs: one aggregated "
    "value per x-mig property and side (merged with --have and with values the log shows), "
    "then remedies that work on stock QEMU."
)
FORMS = {"command-line": Form.COMMAND_LINE, "libvirt": Form.LIBVIRT, "compat": Form.COMPAT}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="log files; - reads stdin")
    parser.add_argument(
        "--form", choices=tuple(FORMS), default="command-line", help="which form to print"
    )
    add_fix_arguments(parser)


def run(args: argparse.Namespace) -> int:
    fixes = fixes_from_args(args)
    session, _ = load_session(args.logs)
    suggestions = session_report(session, fixes=fixes).suggestions
    form = FORMS[args.form]
    printed = 0
    for suggestion in suggestions:
        text = suggestion.form(form)
        if not text:
            continue
        sys.stdout.write(f"# {printable(suggestion.reason)}\n{printable(text)}\n")
        printed += 1
    if printed == 0:
        sys.stdout.write(f"# nothing to paste in the {args.form} form for these logs\n")
    return 1 if suggestions else 0
