#!/usr/bin/env python3
"""Regenerate the catalogue's name tables (parsers/data/catalogue-*.tsv) from the vendored TSVs.

Run from the repository root after editing parsers/data/*.tsv or parsers/catalogue_build.py:
``.venv/bin/python scripts/make_catalogue.py``. tests/unit/test_catalogue_build.py fails while
the files in the repository differ from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from parsers import catalogue_build  # noqa: E402 - the repository must be on the path first


def main() -> int:
    for name, text in catalogue_build.render(catalogue_build.build()).items():
        path = catalogue_build.DATA / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            print(f"{path.relative_to(REPO)}: unchanged")
            continue
        path.write_text(text, encoding="utf-8")
        print(f"{path.relative_to(REPO)}: written ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
