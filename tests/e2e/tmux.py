"""A real terminal for the TUI's e2e tests: one command in a private tmux server, its screen read
back as text."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO

# The reginspect of this checkout, whatever the shell in the terminal finds on its PATH.
REGINSPECT = f"PYTHONPATH={shlex.quote(str(REPO))} {shlex.quote(sys.executable)} -m reginspect"
SESSION = "e2e"


class Terminal:
    """``command`` (shell text) run in ``workdir``, in a ``width`` x ``height`` terminal of a
    private tmux server (its own socket, no user configuration). Its exit status goes to
    ``workdir/status``; ``watch`` sees every screen captured."""

    def __init__(
        self,
        workdir: Path,
        command: str,
        *,
        width: int = 120,
        height: int = 40,
        watch: Callable[[str], object] | None = None,
    ) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (CI installs it; apt-get install tmux)")
        self.socket = f"reginspect-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.socket_path = ""  # known once the server runs; kill-server leaves the file
        self.status = workdir / "status"
        self.watch = watch
        self.tracebacks: list[str] = []  # every screen that showed one
        self.captures = 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        # The pane stays after the command (sleep) so that a failure can still read its screen.
        wrapped = (
            f"cd {shlex.quote(str(workdir))} && {command};"
            f" echo $? > {shlex.quote(str(self.status))}; sleep 120"
        )
        self._tmux(
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            str(width),
            "-y",
            str(height),
            wrapped,
            env={**env, "TERM": "xterm-256color"},
        )
        self.socket_path = self._tmux("display-message", "-p", "#{socket_path}").strip()

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            timeout=10,
        )
        return done.stdout

    def screen(self) -> str:
        text = self._tmux("capture-pane", "-p", "-t", SESSION)
        self.captures += 1
        if "Traceback" in text:
            self.tracebacks.append(text)
        if self.watch is not None:
            self.watch(text)
        return text

    def wait_for(self, found: Callable[[str], bool], timeout: float, what: str) -> float:
        """Seconds until ``found(screen)``; fails with the screen after ``timeout``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if found(self.screen()):
                return time.monotonic() - start
            time.sleep(0.02)
        pytest.fail(f"{what}: not on screen after {timeout} s:\n{self.screen()}")

    def press(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", SESSION, *keys)

    def exit_status(self, timeout: float) -> str:
        """The command's exit status, once it has ended within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status.exists() and self.status.read_text().strip():
                break
            time.sleep(0.05)
        return self.status.read_text().strip() if self.status.exists() else "(still running)"

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], check=False, capture_output=True, timeout=10
        )
        if self.socket_path:
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)
