"""`reginspect plan INPUT...`: which host configurations migrate to which, and the one
aggregated fix for the machine type they share."""

from __future__ import annotations

import argparse
import sys

from reginspect.commands.arguments import FORMS, add_have_argument, have_settings
from reginspect.errors import UserError

HELP = (
    "Plan migrations across host configurations: each INPUT is one configuration's register "
    "list (a saved stream, plain or compressed; a `probe --json` or other JSON register list; "
    "or the kernel selftest's `get-reg-list --config=CONFIG --list` output), optionally "
    "LABEL=INPUT. Prints which directions migrate (every ordered pair), the registers not every "
    "host has, the one fix for the whole set in every form (x-mig-hidden-regs, "
    "x-mig-safe-missing-regs, QEMU 11.1 tolerance lines), and what still fails after it. "
    "Exit status: 0 every direction migrates, 1 some direction fails, 2 usage or input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="[LABEL=]INPUT", help="one register list per host"
    )
    parser.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output form"
    )
    parser.add_argument(
        "--names", action="store_true", help="name every register of every direction (text)"
    )
    parser.add_argument(
        "--form",
        action="append",
        choices=tuple(FORMS),
        default=[],
        help="print only these forms of the fix (text; repeatable; default every form)",
    )
    parser.add_argument(
        "--qemu",
        "--dst-qemu",
        action="append",
        default=[],
        metavar="[LABEL=]VERSION",
        help="the QEMU version running a configuration (all without LABEL): QEMU >= 11.1 "
        "tolerates a few registers by itself",
    )
    parser.add_argument(
        "--accel",
        action="append",
        default=[],
        metavar="[LABEL=]kvm|tcg",
        help="the accelerator, where the register ids do not tell it",
    )
    parser.add_argument(
        "--cpu",
        action="append",
        default=[],
        metavar="[LABEL=]MODEL",
        help="the -cpu model (default under KVM: host or max, as stated in the output)",
    )
    add_have_argument(
        parser, "an x-mig property value the machine type already sets (repeatable); merged in"
    )
    parser.add_argument(
        "--machine",
        metavar="virt-X.Y",
        help="the machine type (default: the inputs' own, when they agree): merges what the "
        "x-mig postings' compat sets for it",
    )
    parser.add_argument("--tui", action="store_true", help="show the matrix in the TUI")


def run(args: argparse.Namespace) -> int:
    from reginspect.plan import PlanOptions, plan_files

    have = have_settings(args.have)
    options = PlanOptions(tuple(args.qemu), tuple(args.accel), tuple(args.cpu), have, args.machine)
    plan = plan_files(args.inputs, options)
    if args.tui:
        if args.format != "text" or args.names or args.form:
            raise UserError("--tui shows everything itself: drop --format, --names and --form.")
        # The second place where the core reaches up into the TUI layer, lazily (pyproject).
        from tui.plan_app import run_plan_app

        return run_plan_app(plan)
    from reginspect.plan_render import render

    forms = [FORMS[name] for name in args.form] or None
    if forms and args.format != "text":
        raise UserError("--form chooses what the text shows; JSON and Markdown show every form.")
    sys.stdout.write(render(plan, args.format, names=args.names, forms=forms))
    return plan.exit_status
