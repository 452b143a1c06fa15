"""The SQLite append path: one writer thread with its own ``sqlite3`` connection.

A profile of one append at a time showed the event loop idle while each batch went through
SQLAlchemy's async layer and aiosqlite's thread once per statement (connect, BEGIN, head read, key
read, insert, commit). Here a whole batch is one hop to a dedicated thread: BEGIN IMMEDIATE (the
write lock that serializes every process on the file), the chain head, the keys, sealing, the
inserts and the COMMIT (fsync'd, synchronous=FULL) run there together.

While commits are fast, a batch is written on the event loop itself, without the hop: handing it
to the thread and its result back (two thread wake-ups) cost more than the commit on the 2-core
development VM (c=1 p50 of a request 7.4 -> 5.8 ms; docs/benchmarks.md, issue 20). A batch that
took :data:`LOOP_COMMIT_BELOW_S` or longer (a slow disk, a WAL checkpoint) sends the next ones to
the thread, until one commits that fast there again. On the loop the write lock is not waited for:
when another process holds it, the batch goes to the thread, which waits up to the busy timeout.

The head and the validated data keys are kept in memory between batches. ``PRAGMA data_version``,
read on this connection after the write lock is taken, changes exactly when another connection
(another gateway process, the eraser, the checkpointer, an administrator's shell) has committed
since: only then are the head and the keys read again. A failed batch forgets both.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from audit.chain import ChainHead, Pending, chain_records, checkpoint_for, head_after, record_values
from audit.database import open_sqlite_connection
from audit.datakeys import FreshKeys, ScopeKeys, settle_scope_keys
from audit.records import StoredRecord
from audit.rows import SQLITE_HEAD_SQL, head_of_row, now_us
from audit.schema import checkpoints as checkpoints_table
from audit.schema import deks as deks_table
from audit.schema import records as records_table
from audit.signing import Checkpoint, CheckpointSigner

Written = tuple[list[StoredRecord], ScopeKeys, Checkpoint | None]


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    # Names from the schema module, never from input; values are bound.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"  # noqa: S608


_RECORD_COLUMNS = tuple(c.name for c in records_table.c)
_INSERT_RECORD = _insert_sql(records_table.name, _RECORD_COLUMNS)
_INSERT_DEK = _insert_sql(deks_table.name, tuple(c.name for c in deks_table.c))
_INSERT_CHECKPOINT = _insert_sql(checkpoints_table.name, tuple(c.name for c in checkpoints_table.c))
_SELECT_KEYS = "SELECT scope, key_id FROM audit_deks WHERE scope IN (SELECT value FROM json_each(?))"

#: A batch that committed faster than this lets the next one commit on the event loop (0: never).
LOOP_COMMIT_BELOW_S = 0.002


class _LockBusy(Exception):
    """Another connection holds the write lock (raised on the loop only, where it is not waited for)."""


class SqliteChainWriter:
    """Appends batches to one SQLite file from a dedicated thread (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        busy_timeout_ms: int,
        signer: CheckpointSigner,
        checkpoint_every: int,
        *,
        loop_commit_below_s: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._signer = signer
        self._checkpoint_every = checkpoint_every
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-sqlite-writer")
        self._loop_below_s = LOOP_COMMIT_BELOW_S if loop_commit_below_s is None else loop_commit_below_s
        self._clock = clock
        self._on_loop = self._loop_below_s > 0  # where the next batch is written
        self.batches_on_loop = 0
        # Touched by one batch at a time (on the loop or the writer thread):
        self._conn: sqlite3.Connection | None = None
        self._lock_wait = True  # the connection's busy timeout is the configured one, not 0
        self._version: int | None = None  # data_version when the cached head was last known right
        self._head: ChainHead | None = None
        self._valid_keys: dict[str, str] = {}  # scope -> key id, checked under the lock at _version

    def __repr__(self) -> str:
        return "SqliteChainWriter()"

    async def write(self, items: Sequence[Pending], known: ScopeKeys, fresh: FreshKeys) -> Written:
        """Chain, insert and commit ``items`` in one transaction; returns after COMMIT.

        Raises the driver's error (nothing committed) or :class:`~audit.datakeys.StaleKeys`. The
        caller writes one batch at a time."""
        if self._on_loop:
            started = self._clock()
            try:
                written = self._write(items, known, fresh, lock_wait=False)
            except _LockBusy:
                self._on_loop = False
            else:
                self.batches_on_loop += 1
                self._on_loop = self._clock() - started < self._loop_below_s
                return written
        loop = asyncio.get_running_loop()
        started = self._clock()
        written = await loop.run_in_executor(self._executor, self._write, items, known, fresh, True)
        self._on_loop = self._clock() - started < self._loop_below_s
        return written

    async def close(self) -> None:
        """Close the connection and end the thread (after the batch in flight, if any)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._forget()

    def _forget(self) -> None:
        self._version = None
        self._head = None
        self._valid_keys = {}

    def _write(
        self, items: Sequence[Pending], known: ScopeKeys, fresh: FreshKeys, lock_wait: bool
    ) -> Written:
        if self._conn is None:
            self._conn = open_sqlite_connection(self._path, self._busy_timeout_ms, any_thread=True)
            self._lock_wait = True
        conn = self._conn
        if lock_wait != self._lock_wait:
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms) if lock_wait else 0}")
            self._lock_wait = lock_wait
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            self._forget()
            if lock_wait:
                raise
            raise _LockBusy from None  # nothing begun: the thread waits for the lock instead
        try:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            if version != self._version or self._head is None:
                self._forget()
                self._head = ChainHead(*head_of_row(conn.execute(SQLITE_HEAD_SQL).fetchone()))
            head = self._head
            scope_keys = self._scope_keys(conn, {item.scope for item in items}, known, fresh)
            now = now_us()
            stored = chain_records(items, head, scope_keys, self._signer, now)
            conn.executemany(_INSERT_RECORD, [record_values(r) for r in stored])
            new_head = head_after(head, stored)
            checkpoint = checkpoint_for(head.seq, new_head, self._signer, self._checkpoint_every, now)
            if checkpoint is not None:
                conn.execute(_INSERT_CHECKPOINT, checkpoint.to_dict())
            conn.execute("COMMIT")
        except BaseException:
            self._forget()
            self._rollback(conn)
            raise
        # Our own commit leaves data_version as it was: the cache stays valid until another commits.
        self._version = version
        self._head = new_head
        self._valid_keys.update({scope: key_id for scope, (key_id, _) in scope_keys.items()})
        return stored, scope_keys, checkpoint

    def _scope_keys(
        self, conn: sqlite3.Connection, scopes: set[str], known: ScopeKeys, fresh: FreshKeys
    ) -> ScopeKeys:
        """The key of every scope, read from ``audit_deks`` only for scopes not already checked
        since the last commit by another connection; new keys inserted."""
        unchecked = {s for s in scopes if s not in known or self._valid_keys.get(s) != known[s][0]}
        stored: dict[str, str] = {s: self._valid_keys[s] for s in scopes - unchecked}
        if unchecked:
            rows = conn.execute(_SELECT_KEYS, (json.dumps(sorted(unchecked)),)).fetchall()
            stored.update({str(scope): str(key_id) for scope, key_id in rows})
        keys, new_rows = settle_scope_keys(stored, scopes, known, fresh, now_us())
        if new_rows:
            conn.executemany(_INSERT_DEK, new_rows)
        return keys

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                # The connection is in a state we cannot vouch for: start again with a new one.
                conn.close()
                self._conn = None
