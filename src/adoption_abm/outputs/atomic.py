"""Atomic file writes: a reader sees the old file or the new one, never half of one.

A write that fails (a full disk, a read-only file system) removes its temporary file and raises
the ``OSError``; the caller names the option and says what was kept (:class:`OutPathError`,
:func:`reason`). A process killed mid-write leaves its temporary ``.NAME.*.tmp`` behind: the
owner of the folder removes those when it next takes the folder (``batch.store.Store.lock``,
:class:`~adoption_abm.outputs.runfolder.RunFolder`).
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)

TMP_SUFFIX = ".tmp"

_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder",
    errno.ENAMETOOLONG: "name too long",
    errno.ELOOP: "too many symbolic links",
    errno.EEXIST: "already exists",
    errno.ENOTEMPTY: "already exists and is not empty",
}


_OS_ERROR = re.compile(r"\(os error (\d+)\)")


FULL_BELOW = 64 * 1024
"""A library error while the device has less free space than this is taken for a full disk."""


def device_full(folder: str | Path) -> bool:
    """Whether the file system of ``folder`` has (almost) no space left for this user."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # pragma: no cover - gone, or Windows
        return False
    return st.f_bavail * st.f_frsize < FULL_BELOW


def as_os_error(
    exc: BaseException, filename: str | Path | None = None, folder: str | Path | None = None
) -> OSError | None:
    """``exc`` if it is an OSError; the OSError a library reports in its own exception type
    (Polars: ``ComputeError: ... No space left on device (os error 28)``); else None. With
    ``folder`` (where the failed write went; call it before removing the partial file), a
    library error that lost the errno (Polars on a full disk may report ``Invalid thrift:
    transport error``) is taken for ENOSPC when that device is full."""
    if isinstance(exc, OSError):
        return exc
    m = _OS_ERROR.search(str(exc))
    if m is None:
        if folder is None or not device_full(folder):
            return None
        code = errno.ENOSPC
        return OSError(code, os.strerror(code), *([str(filename)] if filename else []))
    code = int(m.group(1))
    if filename is None:
        return OSError(code, os.strerror(code))
    return OSError(code, os.strerror(code), str(filename))


def reason(exc: OSError) -> str:
    """A short, plain reason for an ``OSError`` (no errno number, no traceback)."""
    text = _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
    return text


class OutPathError(ValueError):
    """An output path that cannot be used, or a write into it that failed. ``str()`` is
    ``"--out PATH: reason"``; ``option``, ``path`` and ``reason`` are attributes."""

    def __init__(self, path: str | Path, reason: str, option: str = "--out"):
        self.path = Path(path)
        self.reason = reason
        self.option = option
        super().__init__(f"{option} {path}: {reason}")


def fsync_dir(path: str | Path) -> None:
    """Make a rename or a new entry in the folder ``path`` durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp)`` on a temporary file beside ``path``, fsync it, then rename it over
    ``path``. On any error the temporary file is removed and ``path`` is untouched; an I/O error
    that the writer's library reports in its own type is raised as the OSError it is."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # as a plain open() would (mkstemp makes it 0600)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        os_error = None if isinstance(exc, OSError) else as_os_error(exc, path, path.parent)
        tmp.unlink(missing_ok=True)
        if os_error is not None:
            raise os_error from exc
        raise
    fsync_dir(path.parent)
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    return write_text_atomic(
        path, json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n"
    )


def write_parquet_atomic(path: str | Path, frame: Any) -> Path:
    """Write a Polars DataFrame as Parquet, atomically."""
    return write_atomic(path, lambda tmp: frame.write_parquet(tmp))


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files interrupted writes left in ``folder`` (not recursive); call it
    only while holding the folder (no other writer). Returns what was removed."""
    removed = []
    for tmp in Path(folder).glob(f".*{TMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed
