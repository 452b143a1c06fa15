"""SQLite batches commit on the event loop while commits are fast, on the writer thread otherwise,
and never wait for the write lock on the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

import pytest
from audit_helpers import db_path, event

from audit.sqlite_writer import SqliteChainWriter
from audit.store import AuditLog, AuditSettings


def _chain_writer(log: AuditLog) -> SqliteChainWriter:
    writer = log._writer._chain  # the append path under test
    assert isinstance(writer, SqliteChainWriter)
    return writer


class _Threads:
    """Records the thread each batch's ``_write`` ran on."""

    def __init__(self, writer: SqliteChainWriter, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[int] = []
        write = writer._write

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.seen.append(threading.get_ident())
            return write(*args, **kwargs)

        monkeypatch.setattr(writer, "_write", recorded)


async def test_fast_commits_run_on_the_loop_thread(
    settings: AuditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = await AuditLog.open(settings)
    writer = _chain_writer(log)
    monkeypatch.setattr(writer, "_clock", lambda: 0.0)  # every commit takes no time
    threads = _Threads(writer, monkeypatch)
    for i in range(1, 6):
        await log.append(event(i))
    assert threads.seen == [threading.get_ident()] * 5
    assert writer.batches_on_loop == 5
    assert (await log.verify()).ok
    await log.close()


async def test_a_slow_commit_sends_the_next_batches_to_the_thread_until_one_is_fast_again(
    settings: AuditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = await AuditLog.open(settings)
    writer = _chain_writer(log)
    # Each batch reads the clock twice (start, end): durations 1 s, 1 s, then 0 from there on.
    ticks = iter([0.0, 1.0, 0.0, 1.0])
    monkeypatch.setattr(writer, "_clock", lambda: next(ticks, 0.0))
    threads = _Threads(writer, monkeypatch)
    for i in range(1, 5):
        await log.append(event(i))
    loop_thread = threading.get_ident()
    # 1: on the loop, slow; 2: on the thread, slow; 3: on the thread, fast; 4: back on the loop.
    assert [t == loop_thread for t in threads.seen] == [True, False, False, True]
    assert writer.batches_on_loop == 2
    assert (await log.verify()).ok
    await log.close()


async def test_the_write_lock_held_elsewhere_is_waited_for_on_the_thread_not_on_the_loop(
    settings: AuditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = await AuditLog.open(settings)
    writer = _chain_writer(log)
    monkeypatch.setattr(writer, "_clock", lambda: 0.0)
    await log.append(event(1))  # on the loop
    other = sqlite3.connect(db_path(settings), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        appending = asyncio.ensure_future(log.append(event(2)))
        async with asyncio.timeout(30):  # a bound for a failing test only
            while writer._on_loop:  # moved to the thread, which now waits
                await asyncio.sleep(0.001)
        assert not appending.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    receipt = await appending
    assert receipt.seq == 2
    assert writer.batches_on_loop == 1
    assert (await log.verify()).ok
    await log.close()


async def test_with_loop_commits_off_every_batch_goes_to_the_thread(
    settings: AuditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("audit.sqlite_writer.LOOP_COMMIT_BELOW_S", 0.0)
    log = await AuditLog.open(settings)
    writer = _chain_writer(log)
    threads = _Threads(writer, monkeypatch)
    for i in range(1, 4):
        await log.append(event(i))
    assert threading.get_ident() not in threads.seen
    assert writer.batches_on_loop == 0
    await log.close()
