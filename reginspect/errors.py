"""Errors meant for people: one sentence, an exit status, no traceback."""

from __future__ import annotations

# Exit statuses shared by every sub-command (documented in the README).
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix; the CLI prints the sentence and exits with ``status``."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
