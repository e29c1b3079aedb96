"""A function's code on disk: a deployment package (zip) unpacked once per content hash under a root directory,
and a local directory packed into a zip (so that its bytes can live in the store, where any node finds them)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path


class CodeError(ValueError):
    """The deployment package cannot be used (not a zip, or a directory that cannot be read)."""


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: the base64 of the package's SHA-256 digest (hex here is the directory name)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def check_zip(data: bytes) -> None:
    """`CodeError` unless ``data`` is a readable zip archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CodeError(
            f"Could not unzip uploaded file. Please check your file, then try to upload again. ({exc})"
        ) from None


def unpack(data: bytes, root: Path) -> Path:
    """The directory holding ``data`` unpacked (``root/<sha256 hex>``), unpacking it on first use. Concurrent
    callers (threads, processes, nodes sharing the disk) each unpack into a temporary directory and rename it
    into place: a reader never sees a half-unpacked package."""
    digest = hashlib.sha256(data).hexdigest()
    target = root / digest
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=root))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(scratch)  # extractall drops absolute paths and ".." components
        try:
            os.rename(scratch, target)
        except OSError:
            if not target.is_dir():  # anything but "another caller got there first"
                raise
    except (zipfile.BadZipFile, ValueError) as exc:
        raise CodeError(f"Could not unzip uploaded file: {exc}") from None
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def pack_directory(directory: Path) -> bytes:
    """A zip of ``directory``'s files (relative names, sorted, fixed timestamps: the same tree gives the same
    bytes, so an unchanged directory keeps its CodeSha256). Caches (``__pycache__``) are left out."""
    if not directory.is_dir():
        raise CodeError(f"{directory} is not a directory.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory)
            if "__pycache__" in relative.parts or not path.is_file():
                continue
            info = zipfile.ZipInfo(relative.as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (path.stat().st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
