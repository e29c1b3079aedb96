"""Lambda deployment packages for tests: zips built in memory."""

from __future__ import annotations

import io
import zipfile

#: A handler that answers its event.
ECHO = "def handler(event, context):\n    return event\n"


def package(files: dict[str, str] | None = None) -> bytes:
    """A zip holding ``files`` (name → text); default: ``app.py`` with the `ECHO` handler."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (files or {"app.py": ECHO}).items():
            archive.writestr(name, text)
    return buffer.getvalue()
