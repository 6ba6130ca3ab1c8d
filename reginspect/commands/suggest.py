"""`reginspect suggest LOG...`: only the ready-to-paste fixes for the attempts of the logs."""

from __future__ import annotations

import argparse
import sys

from reginspect.commands.arguments import FORMS
from reginspect.commands.report import (
    add_fix_arguments,
    add_log_arguments,
    fixes_from_args,
    made_report,
)
from reginspect.textsafe import printable

HELP = (
    "Print only the ready-to-paste fixes for the migration failures in QEMU logs, each for the "
    "QEMU it holds on: x-mig property values (one aggregated value per property and side, or "
    "the machine type's compat where it already sets the property), upstream QEMU 11.1's "
    "tolerances (--form tolerance: C lines for a downstream patch), then what works on any QEMU."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--form", choices=tuple(FORMS), default="command-line", help="which form to print"
    )
    add_log_arguments(parser)
    add_fix_arguments(parser)


def _comment(text: str) -> str:
    return "\n".join(f"# {line}" for line in printable(text).splitlines())


def run(args: argparse.Namespace) -> int:
    fixes = fixes_from_args(args)
    with made_report(args, None, fixes) as (report, _):
        suggestions = report.suggestions
    form = FORMS[args.form]
    printed = 0
    for suggestion in suggestions:
        head = f"{suggestion.property} on the {suggestion.side}, for {suggestion.qemu}"
        sys.stdout.write(_comment(f"{head}: {suggestion.reason}") + "\n")
        text = suggestion.form(form)
        if text:
            sys.stdout.write(printable(text) + "\n")
            printed += 1
        elif suggestion.forms:
            others = ", ".join(
                f"--form {name}" for name, each in FORMS.items() if suggestion.form(each)
            )
            sys.stdout.write(f"# (nothing in the {args.form} form: see {others})\n")
    if printed == 0:
        sys.stdout.write(f"# nothing to paste in the {args.form} form for these logs\n")
    return 1 if suggestions else 0
