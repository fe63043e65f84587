"""Output folders written as a whole, and output paths checked before any work.

:class:`RunFolder` (``adoption-abm run`` and ``compare``): files are written into a hidden
sibling ``.NAME.partial-PID-TOKEN``, and :meth:`RunFolder.commit` renames it into place as a
whole; so ``NAME`` is either absent, the previous folder, or the complete new one, whenever the
process is killed. The rules:

* an existing, non-empty ``NAME`` is refused unless ``overwrite``; with ``overwrite`` it is
  replaced as a whole (an atomic exchange where Linux offers ``renameat2(RENAME_EXCHANGE)``,
  else two renames), but only if it holds a previous output (its ``marker`` file): a folder of
  other files is never removed;
* one writer at a time: an exclusive lock on ``.NAME.lock`` beside it (released by the kernel
  when the process dies, even by ``kill -9``); a second writer is refused before it starts;
* leftovers of killed writers in the same parent (``.X.partial-*`` and ``.X.replaced-*`` whose
  lock nobody holds) are removed, each named in a warning; a previous folder that a writer
  killed between the two renames left aside (``NAME`` absent) is put back first.

:func:`check_output_folder` (``batch``, ``sensitivity``, ``calibrate``, whose folders are
resumed, not replaced) checks that a folder can be created or written without creating it.

Every failure is an :class:`~adoption_abm.outputs.atomic.OutPathError`: ``--out PATH: reason``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .atomic import OutPathError, as_os_error, fsync_dir, reason

try:  # POSIX advisory locks; released by the kernel when the process dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|replaced)-\d+-[0-9a-f]+$")


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def absolute(path: str | Path) -> Path:
    """``path`` made absolute without resolving symbolic links (``a/../b`` → ``b``)."""
    return Path(os.path.abspath(os.fspath(path)))


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _probe(folder: Path, option: str, shown: Path) -> None:
    """Create and remove a file in ``folder``: the surest test that it is writable."""
    name = folder / f".adoption-abm-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        where = "" if folder == shown else f" ({folder})"
        raise OutPathError(shown, f"cannot write there{where}: {reason(exc)}", option) from None
    os.close(fd)
    os.unlink(name)


def _path_error(shown: Path, option: str, exc: OSError) -> OutPathError:
    """A path the system refuses to look at (a name too long, a loop of links...)."""
    return OutPathError(shown, f"cannot be used: {reason(exc)}", option)


def check_output_folder(path: str | Path, option: str = "--out") -> None:
    """Check, without creating anything, that ``path`` is a folder that can be written, or can
    be created (its nearest existing ancestor is a writable folder)."""
    try:
        _check_output_folder(Path(path), option)
    except OSError as exc:  # from a stat: e.g. ENAMETOOLONG (OutPathError is not an OSError)
        raise _path_error(Path(path), option, exc) from None


def _check_output_folder(shown: Path, option: str) -> None:
    p = absolute(shown)
    if p.exists():
        if not p.is_dir():
            raise OutPathError(shown, "exists and is a file, not a folder", option)
        _probe(p, option, shown)
        return
    base = _nearest_existing(p.parent)
    if not base.is_dir():
        raise OutPathError(shown, f"cannot be created: {base} is a file, not a folder", option)
    _probe(base, option, shown)


class _Lock:
    """An exclusive, non-blocking lock on the file ``path``, created if needed and removed on
    release. After taking it, the file is checked to be still the one at ``path`` (another
    holder may have removed it meanwhile), so two processes never both hold it."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False if another process holds it."""
        while True:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    os.close(fd)
                    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        return False
                    raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)  # removed by its previous holder meanwhile: take the new one

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still holding it
        os.close(self.fd)
        self.fd = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # pragma: no cover - old glibc
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # e.g. a file system without it
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove_tree(path: Path) -> bool:
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


class RunFolder:
    """A folder written as a whole (see the module docstring).

    >>> with RunFolder("runs/demo", overwrite=False) as folder:   # doctest: +SKIP
    ...     folder.write_text("scenario.toml", text)
    ...     folder.write_json("summary.json", summary)  # the marker, last
    ...     folder.commit()

    Leaving the ``with`` block without :meth:`commit` (an error, Ctrl-C) removes the temporary
    folder. ``path`` is checked, locked and its leftovers cleaned on entering: before any work.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        overwrite: bool = False,
        marker: str = "summary.json",
        option: str = "--out",
        warn: Callable[[str], None] = _warn,
    ):
        self.shown = Path(path)
        self.path = absolute(path)
        self.overwrite = overwrite
        self.marker = marker
        self.option = option
        self.warn = warn
        self.tmp: Path | None = None
        self.committed = False
        self._lock: _Lock | None = None

    def error(self, why: str) -> OutPathError:
        return OutPathError(self.shown, why, self.option)

    # entering: check, lock, clean, make the temporary folder --------------------------------
    def open(self) -> RunFolder:
        p = self.path
        if p == p.parent:
            raise self.error("is the root of the file system, not a run folder")
        try:
            exists, is_dir = p.exists(), p.is_dir()
            base = _nearest_existing(p.parent)
            mount = is_dir and os.path.ismount(p)
        except OSError as exc:  # e.g. a name too long
            raise _path_error(self.shown, self.option, exc) from None
        if exists and not is_dir:
            raise self.error("exists and is a file, not a folder")
        if mount:  # a finished run cannot be renamed onto it
            raise self.error("is a mount point; choose a folder inside it")
        if not base.is_dir():
            raise self.error(f"cannot be created: {base} is a file, not a folder")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.error(f"cannot create {p.parent}: {reason(exc)}") from None
        lock = _Lock(p.parent / f".{p.name}.lock")
        try:
            held = lock.acquire()
        except OSError as exc:
            raise self.error(f"cannot write there: {reason(exc)}") from None
        if not held:
            raise self.error("another adoption-abm process is writing this folder now")
        self._lock = lock
        try:
            self._restore_replaced()
            self._check_existing()
            self._clean_leftovers()
            self.tmp = p.parent / f".{p.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                self.tmp.mkdir()
            except OSError as exc:
                self.tmp = None
                raise self.error(f"cannot write there: {reason(exc)}") from None
        except BaseException:
            self._release()
            raise
        return self

    def _check_existing(self) -> None:
        p = self.path
        if not p.is_dir():
            return
        try:
            entries = [e.name for e in os.scandir(p)]
        except OSError as exc:
            raise self.error(f"cannot read it: {reason(exc)}") from None
        if not entries:
            return  # an empty folder is replaced by the rename
        if not self.overwrite:
            raise self.error(
                "already exists; pass --overwrite to replace it, or choose another --out"
            )
        if self.marker not in entries:
            raise self.error(
                f"holds files that are not an adoption-abm output (no {self.marker}); "
                "not replacing it, even with --overwrite: choose another --out"
            )

    def _restore_replaced(self) -> None:
        """A writer killed between the two renames of a replacement (systems without
        RENAME_EXCHANGE) left ``NAME`` absent and the previous folder as ``.NAME.replaced-*``:
        put the previous folder back, so a kill never loses the previous run."""
        p = self.path
        if p.exists():
            return
        try:
            replaced = sorted(
                e.path
                for e in os.scandir(p.parent)
                if e.is_dir(follow_symlinks=False)
                and (m := _LEFTOVER.match(e.name)) is not None
                and m["kind"] == "replaced"
                and m["name"] == p.name
            )
        except OSError:
            return
        if len(replaced) == 1:  # two would be ambiguous: leave them to the cleaning, named
            with contextlib.suppress(OSError):
                os.rename(replaced[0], p)
                self.warn(f"restored {p} from {replaced[0]}, left by an interrupted --overwrite")

    def _clean_leftovers(self) -> None:
        """Remove what killed writers left in the parent folder (their lock is free)."""
        parent = self.path.parent
        try:
            entries = list(os.scandir(parent))
        except OSError:
            return
        for entry in entries:
            m = _LEFTOVER.match(entry.name)
            if m is None or not entry.is_dir(follow_symlinks=False):
                continue
            leftover = parent / entry.name
            if m["name"] == self.path.name:
                self._remove_leftover(leftover)
                continue
            other = _Lock(parent / f".{m['name']}.lock")
            try:
                free = other.acquire()
            except OSError:
                free = False
            if free:
                try:
                    self._remove_leftover(leftover)
                finally:
                    other.release()

    def _remove_leftover(self, leftover: Path) -> None:
        if _remove_tree(leftover):
            self.warn(f"removed {leftover}, left by an interrupted run")
        else:
            self.warn(f"{leftover} was left by an interrupted run and cannot be removed")

    # writing ------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        """Where to write ``name`` (inside the temporary folder)."""
        if self.tmp is None:
            raise RuntimeError("RunFolder not open")
        return self.tmp / name

    def write(self, name: str, writer: Callable[[Path], Any]) -> Path:
        """``writer(path)`` into the temporary folder, then fsync the file. A failed write
        (a full disk) raises an OutPathError that says nothing was written."""
        path = self.file(name)
        try:
            writer(path)
            with open(path, "rb+") as fh:
                os.fsync(fh.fileno())
        except Exception as exc:
            os_error = as_os_error(exc, folder=self.tmp)
            if os_error is None:
                raise
            raise self.error(
                f"{reason(os_error)} while writing {name}; nothing was written (the run is lost)"
            ) from None
        return path

    def fill(self, writer: Callable[[Path], Any], what: str = "the output") -> None:
        """``writer(folder)`` writes several files into the temporary folder; a failed write
        raises an OutPathError that says nothing was written."""
        if self.tmp is None:
            raise RuntimeError("RunFolder not open")
        try:
            writer(self.tmp)
        except Exception as exc:
            os_error = as_os_error(exc, folder=self.tmp)
            if os_error is None:
                raise
            raise self.error(
                f"{reason(os_error)} while writing {what}; nothing was written"
            ) from None

    def write_text(self, name: str, text: str) -> Path:
        return self.write(name, lambda p: p.write_text(text, encoding="utf-8"))

    def write_json(self, name: str, data: Any) -> Path:
        import json

        return self.write_text(name, json.dumps(data, indent=2, allow_nan=False) + "\n")

    def write_parquet(self, name: str, frame: Any) -> Path:
        return self.write(name, lambda p: frame.write_parquet(p))

    # leaving --------------------------------------------------------------------------------
    def commit(self) -> Path:
        """Rename the temporary folder into place (replacing the old one with ``overwrite``)."""
        if self.tmp is None:
            raise RuntimeError("RunFolder not open")
        tmp, p = self.tmp, self.path
        fsync_dir(tmp)
        try:
            if p.is_dir() and any(os.scandir(p)):  # overwrite (checked on entering)
                if _exchange(tmp, p):
                    _remove_tree(tmp)  # now the old folder
                else:
                    old = p.parent / f".{p.name}.replaced-{os.getpid()}-{secrets.token_hex(4)}"
                    os.rename(p, old)
                    os.rename(tmp, p)
                    _remove_tree(old)
            else:
                os.rename(tmp, p)  # onto nothing, or onto an empty folder
        except OSError as exc:
            why = f"cannot move the finished run into place: {reason(exc)}"
            kept = p.parent / f"{p.name}.unplaced-{os.getpid()}"
            try:
                os.rename(tmp, kept)  # keep the work, visibly, under another name
            except OSError:
                raise self.error(why) from None
            self.tmp = None
            raise self.error(f"{why}; the complete run is kept in {kept}") from None
        fsync_dir(p.parent)
        self.tmp = None
        self.committed = True
        self._release()
        return self.shown

    def abort(self) -> None:
        """Remove the temporary folder and release the lock (nothing changes at ``path``)."""
        if self.tmp is not None:
            _remove_tree(self.tmp)
            self.tmp = None
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> RunFolder:
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        if not self.committed:
            self.abort()
