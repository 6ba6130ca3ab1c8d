"""Reading inputs into a Session: the only place in the core that does file I/O for logs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reginspect.errors import UserError
from reginspect.inputs import describe_source, open_binary, read_chunks
from reginspect.model import Session

Progress = Callable[[str, int], None]


def source_name(path: str) -> str:
    return describe_source(path)


def load_logs(paths: Sequence[str], progress: Progress | None = None) -> tuple[Session, list[str]]:
    """Parse every log into one session; returns it with the problems met while reading.

    A damaged compressed file still contributes what was read before the damage.
    """
    session = Session()
    problems: list[str] = []
    seen: set[str] = set()
    for path in paths:
        name = source_name(path)
        if name in seen:
            problems.append(f"{name}: given twice; read once.")
            continue
        seen.add(name)
        stream = open_binary(path)
        done = 0
        try:
            for chunk in read_chunks(stream, path):
                session.feed(name, chunk)
                done += len(chunk)
                if progress is not None:
                    progress(name, done)
        except UserError as error:
            problems.append(error.message)
        finally:
            if path != "-":
                stream.close()
        session.close(name)
    return session, problems
