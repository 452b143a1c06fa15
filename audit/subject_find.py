"""Finding a person's data in records written without a subject header (GDPR Art. 15 completeness).

A name or number sent without ``X-Data-Subject`` is still in the log, inside encrypted payloads:
request bodies, pseudonym maps (placeholder -> original value) and answers. :func:`find_value`
decrypts every record in the range and scans every string, every object key and every number of
its content for the value, both compared after the same canonical form (the caller passes the PII
normalizer's, :func:`policies.pii.normalize.canonical_value`: case, width, spaces, dashes and
digit-group separators do not matter). A match must end at a word boundary and start at
one (a number may follow other digits: a country code), so ``Maria`` does not match ``Mariano``.

Cost: it reads and decrypts every record of the range (about the log's size in I/O, one AES-GCM
open per record); narrow it with ``since``. The value is never logged or recorded: the
``dsr.find`` operation is recorded by the caller with counts only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from audit.dsr_common import us_of
from audit.dsr_errors import InvalidDsrRequest
from audit.errors import AuditUnavailable
from audit.records import StoredRecord, decode_row
from audit.rows import integer_seq, select_records
from audit.schema import records as records_table

if TYPE_CHECKING:
    from audit.store import AuditLog

_PAGE = 1000
MAX_VALUE_LENGTH = 256

#: ``progress(records_read, last_seq_of_the_range)``
FindProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class FindResult:
    """The records holding the value (seqs only), and how many were read."""

    seqs: tuple[int, ...]
    scanned: int
    unreadable: int  # records in the range whose content is gone or cannot be decrypted


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def value_matcher(value: str, canonical: Callable[[str], str]) -> Callable[[str], bool]:
    """A test for "this canonical text holds ``value``" at word boundaries."""
    needle = canonical(value)
    if not needle.strip():
        raise InvalidDsrRequest("the value to find is empty once normalized", "value")
    # A number may follow a country or area code the searcher left out ("+1 415 555 0137" is
    # joined to "+14155550137"): digits may precede a number, letters may not precede a word.
    left = r"(?<!\w)" if needle[0].isalpha() else r"(?<![^\W\d])" if needle[0].isdigit() else ""
    right = r"(?!\w)" if needle[-1].isalnum() else ""
    pattern = re.compile(left + re.escape(needle) + right)
    return lambda text: needle in text and pattern.search(text) is not None


async def find_value(
    audit: AuditLog,
    value: str,
    since: datetime | None = None,
    progress: FindProgress | None = None,
    *,
    canonical: Callable[[str], str],
) -> FindResult:
    """The seqs of every record at or after ``since`` whose decrypted content holds ``value``
    (see the module docstring). Raises InvalidDsrRequest for an empty or overlong value,
    AuditUnavailable when the log cannot be read."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE_LENGTH:
        raise InvalidDsrRequest(f"the value must be 1 to {MAX_VALUE_LENGTH} characters", "value")
    holds_value = value_matcher(value, canonical)
    r = records_table.c
    found: list[int] = []
    scanned = unreadable = 0
    last = 0
    try:
        async with audit.engine.connect() as conn:
            integer = integer_seq(conn.dialect.name)
            head = int(
                (
                    await conn.execute(
                        select_records()
                        .with_only_columns(r.seq)
                        .where(integer)
                        .order_by(r.seq.desc())
                        .limit(1)
                    )
                ).scalar()
                or 0
            )
            conditions = [integer] + ([r.ts_us >= us_of(since)] if since is not None else [])
            while True:
                rows = (
                    await conn.execute(
                        select_records().where(r.seq > last, *conditions).order_by(r.seq).limit(_PAGE)
                    )
                ).all()
                await conn.rollback()
                if not rows:
                    break
                page = [
                    item
                    for item in (decode_row(row._mapping) for row in rows)
                    if isinstance(item, StoredRecord)
                ]
                contents = await audit.decrypt_records(page)
                for record in page:
                    scanned += 1
                    if record.seq not in contents:
                        unreadable += 1
                        continue
                    if any(holds_value(canonical(text)) for text in _texts(contents[record.seq])):
                        found.append(record.seq)
                last = int(rows[-1]._mapping["seq"])
                if progress is not None:
                    progress(scanned, head)
    except (InvalidDsrRequest, AuditUnavailable):
        raise
    except Exception:
        raise AuditUnavailable("the audit log cannot be read") from None
    return FindResult(tuple(found), scanned, unreadable)
