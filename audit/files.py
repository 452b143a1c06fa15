"""Private files: directories only this user may enter, files only this user may read, written so
that a reader sees the old content or the new, never a part.

Key rings, peppers, checkpoint files and export bundles all go through here, so a file with
secrets is never, even for a moment, readable by another user or half written.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed and restrict it to this user (0700); returns it."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def open_private_temp(path: Path) -> tuple[Path, int]:
    """A new, empty temporary file beside ``path`` (same directory, so it can replace ``path``
    atomically), created 0600 with O_EXCL; returns its path and an open write descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:
            continue


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(path: Path) -> None:
    """Make a rename or link inside directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_with(tmp: Path, path: Path) -> None:
    """Move the finished (fsynced, closed) temporary file ``tmp`` over ``path``, durably."""
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _write_temp(path: Path, data: bytes) -> Path:
    tmp, fd = open_private_temp(path)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with a 0600 file holding ``data``, atomically and durably: readers see the
    old file or the new one, and after a crash the new one is there or the old one still is."""
    tmp = _write_temp(path, data)
    try:
        replace_with(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_private_file(path: Path, data: bytes) -> bool:
    """Create ``path`` as a 0600 file holding ``data`` unless it exists; False if it already did.

    Like :func:`write_private_file` but never replaces: when several processes create the same
    key at once, exactly one wins and every one of them then reads the winner's key.
    """
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the link exists; a failed directory fsync only weakens durability
        fsync_dir(path.parent)
    return True


def read_secret_file(path: Path, size: int) -> bytes:
    """The content of secret file ``path``, which must hold exactly ``size`` bytes.

    Raises RuntimeError naming only the file's name (never its directory or content); a missing
    file raises FileNotFoundError.
    """
    data = path.read_bytes()
    if len(data) != size:
        raise RuntimeError(f"secret file {path.name} has the wrong length")
    return data


def load_or_create_secret(path: Path, size: int = 32) -> bytes:
    """The ``size``-byte secret kept in ``path``, created on first use from ``os.urandom`` as a
    0600 file in a 0700 directory. An existing file of another length raises RuntimeError naming
    only the file's name. Processes starting at once all get the same secret."""
    if not path.exists():
        ensure_private_dir(path.parent)
        create_private_file(path, os.urandom(size))
    return read_secret_file(path, size)
