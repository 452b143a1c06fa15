"""Every SQLite connection the gateway opens zeroes what it deletes (``PRAGMA secure_delete``):
the engine's pooled connections and the writer thread's own connection alike."""

from __future__ import annotations

from pathlib import Path

from audit.database import create_db_engine, open_sqlite_connection, prepare_sqlite_file


def test_plain_connection_runs_with_secure_delete(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    prepare_sqlite_file(path)
    conn = open_sqlite_connection(path)
    try:
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        conn.execute("CREATE TABLE t (v BLOB)")
        conn.execute("INSERT INTO t VALUES (?)", (b"zq7-secret-bytes" * 64,))
        conn.execute("DELETE FROM t")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    assert b"zq7-secret-bytes" not in path.read_bytes()


async def test_engine_connections_run_with_secure_delete(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    prepare_sqlite_file(path)
    engine = create_db_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA secure_delete")).scalar() == 1
    finally:
        await engine.dispose()
