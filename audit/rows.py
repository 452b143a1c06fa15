"""The log's tables as the writer and the readers see them: the append lock, the chain's head,
rows read raw so that a damaged one is reported rather than raised."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select, text, true, type_coerce
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from audit.errors import AuditError
from audit.records import GENESIS_HASH
from audit.schema import records as records_table
from audit.signing import Checkpoint

# Serializes appenders across every process sharing one PostgreSQL database.
APPEND_LOCK_ID = 0x6175_6469_7461_7070

# Rows are read without SQLAlchemy's type processing, so that a value of the wrong type (SQLite
# does not enforce column types) reaches decode_row instead of failing the whole result.
RAW_RECORD = [type_coerce(column, NullType()).label(column.name) for column in records_table.c]


def now_us() -> int:
    """Wall-clock time in microseconds since the epoch: record and checkpoint times."""
    return time.time_ns() // 1000


def select_records() -> Any:
    """``SELECT`` of every record column, untyped (see :data:`RAW_RECORD`)."""
    return select(*RAW_RECORD).select_from(records_table)


def integer_seq(dialect_name: str) -> ColumnElement[bool]:
    """Rows whose seq is an integer. A SQLite row whose seq was set to text sorts after every
    integer and is not any seq at all: readers skip it and verify reports the seq it left missing."""
    if dialect_name == "sqlite":
        return func.typeof(records_table.c.seq) == "integer"
    return true()


async def begin_locked(conn: AsyncConnection) -> None:
    """Start the serialized write transaction on ``conn`` (the append lock, held until commit)."""
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": APPEND_LOCK_ID})
    else:
        raise AuditError(f"unsupported database dialect {conn.dialect.name}")


async def count_non_integer_seqs(conn: AsyncConnection) -> int:
    """How many stored rows have a seq that is not an integer (SQLite only; elsewhere none can)."""
    if conn.dialect.name != "sqlite":
        return 0
    r = records_table.c
    return int((await conn.execute(select(func.count()).where(func.typeof(r.seq) != "integer"))).scalar_one())


async def read_head_seq(conn: AsyncConnection) -> int:
    """The newest record's seq (0 for an empty log)."""
    r = records_table.c
    value = (await conn.execute(select(func.max(r.seq)).where(integer_seq(conn.dialect.name)))).scalar()
    return 0 if value is None else int(value)


async def read_chain_head(conn: AsyncConnection) -> tuple[int, str, int]:
    """Seq, hash and time of the newest record. A head row whose hash or time does not decode does
    not stop the log: the next record chains on what is there, and verify reports the damaged row."""
    r = records_table.c
    row = (
        await conn.execute(
            select(r.seq, type_coerce(r.hash, NullType()), type_coerce(r.ts_us, NullType()))
            .where(integer_seq(conn.dialect.name))
            .order_by(r.seq.desc())
            .limit(1)
        )
    ).first()
    return head_of_row(None if row is None else tuple(row))


# The newest record, read without type processing (see read_chain_head), in SQLite's own SQL.
SQLITE_HEAD_SQL = (
    "SELECT seq, hash, ts_us FROM audit_records WHERE typeof(seq) = 'integer' ORDER BY seq DESC LIMIT 1"
)


def head_of_row(row: tuple[Any, ...] | None) -> tuple[int, str, int]:
    """Seq, hash and time from a head row ``(seq, hash, ts_us)`` as stored (None: an empty log).
    A hash or time of the wrong type reads as empty / 0: the next record chains on what is there,
    and verify reports the damaged row."""
    if row is None:
        return 0, GENESIS_HASH, 0
    seq, head_hash, ts_us = row
    return (
        int(seq),
        head_hash if isinstance(head_hash, str) else "",
        ts_us if isinstance(ts_us, int) and not isinstance(ts_us, bool) else 0,
    )


def checkpoint_from_row(row: Row[Any]) -> Checkpoint:
    """A checkpoint stored in ``audit_checkpoints``."""
    m = row._mapping
    return Checkpoint(
        seq=m["seq"], head_hash=m["head_hash"], ts_us=m["ts_us"], key_id=m["key_id"], signature=m["signature"]
    )
