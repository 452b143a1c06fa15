"""Which database errors the audit writer retries (lock conflicts only) and which not."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from audit.store import is_transient_db_error


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("pg error")
        self.sqlstate = sqlstate


def _locked() -> sqlite3.OperationalError:
    err = sqlite3.OperationalError("database is locked")
    err.sqlite_errorcode = 5  # type: ignore[attr-defined]
    return err


@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "55P03"])
def test_postgres_conflicts_are_transient(sqlstate: str) -> None:
    assert is_transient_db_error(OperationalError("INSERT", {}, _PgError(sqlstate)))


def test_sqlite_busy_is_transient() -> None:
    assert is_transient_db_error(OperationalError("BEGIN IMMEDIATE", {}, _locked()))


def test_lost_connection_is_not_retried() -> None:
    # It may have dropped after the COMMIT reached the server: a retry would append the batch twice.
    assert not is_transient_db_error(DBAPIError("COMMIT", {}, Exception("gone"), connection_invalidated=True))


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("INSERT", {}, _PgError("23505")),
        OperationalError("INSERT", {}, sqlite3.OperationalError("no such table: audit_records")),
        ValueError("not a database error"),
    ],
)
def test_other_errors_are_not_retried(exc: BaseException) -> None:
    assert not is_transient_db_error(exc)
