"""Private files and the one database engine factory: modes, atomic writes, shared secrets, pragmas."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from audit.database import create_db_engine, is_transient_db_error
from audit.files import (
    create_private_file,
    ensure_private_dir,
    load_or_create_secret,
    write_private_file,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_is_created_with_parents_and_an_existing_one_is_restricted(tmp_path: Path) -> None:
    nested = ensure_private_dir(tmp_path / "a" / "b")
    assert nested == tmp_path / "a" / "b" and _mode(nested) == 0o700
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    ensure_private_dir(open_dir)
    assert _mode(open_dir) == 0o700


def test_private_file_is_written_0600_and_replaces_the_old_one_whole(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "secret.bin"
    write_private_file(path, b"first")
    assert path.read_bytes() == b"first" and _mode(path) == 0o600
    path.chmod(0o644)
    write_private_file(path, b"second")
    assert path.read_bytes() == b"second" and _mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret.bin"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.bin"
    write_private_file(path, b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_private_file(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.bin"]


def test_create_private_file_never_replaces(tmp_path: Path) -> None:
    path = tmp_path / "key"
    assert create_private_file(path, b"winner") is True
    assert create_private_file(path, b"loser") is False
    assert path.read_bytes() == b"winner" and _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_secret_is_created_once_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "ring" / "pepper.bin"
    first = load_or_create_secret(path, size=48)
    assert len(first) == 48 and _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert load_or_create_secret(path, size=48) == first


def test_a_secret_of_the_wrong_length_is_refused_naming_only_the_file(tmp_path: Path) -> None:
    path = tmp_path / "private-area" / "pepper.bin"
    path.parent.mkdir()
    path.write_bytes(b"short")
    with pytest.raises(RuntimeError) as caught:
        load_or_create_secret(path)
    assert "pepper.bin" in str(caught.value)
    assert "private-area" not in str(caught.value) and "short" not in str(caught.value)


def test_processes_starting_at_once_share_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "shared.bin"
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(load_or_create_secret(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert [p.name for p in path.parent.iterdir()] == ["shared.bin"]


async def test_sqlite_engine_creates_a_private_file_and_sets_one_set_of_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "data" / "gateway.db"
    engine = create_db_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            values = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    finally:
        await engine.dispose()
    assert values == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 5000, "foreign_keys": 1}
    assert _mode(path) == 0o600


async def test_sqlite_busy_timeout_can_be_shortened(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", busy_timeout_ms=300)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 300
    finally:
        await engine.dispose()


async def test_server_database_engine_has_a_checked_pool() -> None:
    engine = create_db_engine("postgresql+asyncpg://gateway@127.0.0.1:1/gateway")
    try:
        pool = engine.sync_engine.pool
        assert pool.size() == 10  # type: ignore[attr-defined]
        assert pool._max_overflow == 20  # type: ignore[attr-defined]
        assert pool._pre_ping is True
    finally:
        await engine.dispose()


def test_only_lock_conflicts_are_transient() -> None:
    assert not is_transient_db_error(RuntimeError("database is locked"))
