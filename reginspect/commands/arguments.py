"""What more than one sub-command reads from its command line the same way."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from reginspect.errors import UserError
from reginspect.results import Form
from reginspect.textsafe import printable

if TYPE_CHECKING:
    from reginspect.suggest import Setting

# --form's names for the forms of a fix: command-line, libvirt, compat, tolerance.
FORMS: Final = {form.value.replace("_", "-"): form for form in Form}


def add_have_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--have PROP=IDS``, repeatable: what ``have_settings`` reads."""
    parser.add_argument("--have", action="append", default=[], metavar="PROP=IDS", help=help_text)


def have_settings(texts: Sequence[str]) -> tuple[Setting, ...]:
    """The ``--have PROP=IDS`` values; a note on standard error for each name read as the x-mig
    series means it."""
    # Imported here: `plan` loads the suggestion engine only once it runs.
    from reginspect.suggest import SettingError, parse_setting

    have = []
    for text in texts:
        try:
            setting = parse_setting(text)
        except SettingError as error:
            raise UserError(f"--have: {error}") from None
        for note in setting.notes:
            print(f"reginspect: note: --have {printable(note)}", file=sys.stderr)
        have.append(setting)
    return tuple(have)
