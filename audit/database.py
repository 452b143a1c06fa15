"""The process's SQLAlchemy engine: one factory for the audit log, the key store and the CLI.

SQLite files are created private (0600) before SQLite touches them, and every SQLite connection
gets the same pragmas: write-ahead log, a full fsync per commit, a busy timeout, foreign keys,
and ``secure_delete`` (deleted content is overwritten with zeros in the file, not left in free pages).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_BUSY_TIMEOUT_MS = 5000


def prepare_sqlite_file(path: Path) -> None:
    """Create the SQLite database file readable by this user only (0600), or make it so.

    Call before the first connection: SQLite creates ``-wal`` and ``-shm`` with the database
    file's mode, so they are 0600 too (existing ones are set to 0600 here as well).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(name, 0o600)


def prepare_sqlite_database(url: str | URL) -> Path | None:
    """:func:`prepare_sqlite_file` for a SQLAlchemy URL naming a SQLite file; returns its path.

    Other databases and in-memory SQLite: nothing to do, None."""
    path = sqlite_file_of(url)
    if path is not None:
        prepare_sqlite_file(path)
    return path


def apply_sqlite_pragmas(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    """The pragmas every SQLite connection of the gateway runs with (see :func:`create_db_engine`)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Erasure deletes data keys and clears ciphertext: every connection, the writer thread's
    # included, must zero what it frees, or the bytes stay readable in the file's free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def sqlite_file_of(url: str | URL) -> Path | None:
    """The database file a SQLAlchemy SQLite URL names; None for other databases, in-memory
    SQLite and SQLite URIs (a second connection could not be sure to reach the same database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def open_sqlite_connection(
    path: Path, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, *, any_thread: bool = False
) -> sqlite3.Connection:
    """A plain ``sqlite3`` connection to ``path`` with the gateway's pragmas, in autocommit mode
    (the caller issues BEGIN and COMMIT), usable from the one thread that opened it; with
    ``any_thread`` from any thread, one at a time (the caller serializes its use)."""
    conn = sqlite3.connect(
        path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=not any_thread
    )
    try:
        apply_sqlite_pragmas(conn, busy_timeout_ms)
    except BaseException:
        conn.close()
        raise
    return conn


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        apply_sqlite_pragmas(dbapi_connection, busy_timeout_ms)


def create_db_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> AsyncEngine:
    """An async engine for ``url``.

    SQLite: the database file (and its directory) is created 0600 first, and each connection runs
    with journal_mode=WAL, synchronous=FULL, the busy timeout and foreign_keys=ON. Other
    databases: a pool of 10 (up to 30 under load) whose connections are checked before use.
    """
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    prepare_sqlite_database(url)  # 0600 before SQLite creates it (and its -wal and -shm)
    engine = create_async_engine(url)
    _install_sqlite_pragmas(engine, busy_timeout_ms)
    return engine


# PostgreSQL: serialization failure, deadlock, lock not available. SQLite: SQLITE_BUSY, SQLITE_LOCKED.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_TRANSIENT_SQLITE_CODES = frozenset({5, 6})


def is_transient_db_error(exc: BaseException) -> bool:
    """A lock conflict: nothing was committed, and the same transaction may succeed when tried again.

    A lost connection is not retried: it may have dropped after the COMMIT reached the server,
    and appending the batch again would record it twice (with a valid chain)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _TRANSIENT_SQLSTATES:
        return True
    if getattr(orig, "sqlite_errorcode", None) in _TRANSIENT_SQLITE_CODES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


def is_transient_driver_error(exc: BaseException) -> bool:
    """:func:`is_transient_db_error` for an error raised by the driver itself (the writer's own
    ``sqlite3`` or asyncpg connection), not wrapped by SQLAlchemy."""
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in _TRANSIENT_SQLITE_CODES  # extended codes too
    return getattr(exc, "sqlstate", None) in _TRANSIENT_SQLSTATES
