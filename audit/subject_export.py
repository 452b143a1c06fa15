"""Subject export (GDPR Art. 15, machine-readable under Art. 20): every record of one data subject.

The records whose ``subject_ref`` is the subject's (the keyed HMAC the request path stores for
``X-Data-Subject``), decrypted, with the answers' pseudonyms (``[PERSON_1]``) restored from the
same request's pseudonym map, so the person sees their own data. Erasure records and records
whose content is gone (erased, expired) are not exported; the manifest counts them.

The export is three files: ``records.json`` (machine-readable), ``records.csv`` (one row per
value, for a spreadsheet) and ``manifest.json`` (what each field means, each file's SHA-256 and
size, the subject reference, counts), the manifest signed with the audit log's key. As a zip
(:meth:`SubjectExport.to_zip`) it is what ``gateway dsr export ID --out FILE`` writes; check it
with :func:`verify_export` and the key from ``gateway audit public-key``. An unknown subject gets
an empty, signed export. Records written without a subject header are found with
:mod:`audit.subject_find`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from audit.dsr_common import Actor, aware, check_subject_id, record_operation
from audit.dsr_signing import EXPORT_TAG, SignatureCheck, check_document, sign_document
from audit.errors import AuditUnavailable
from audit.records import StoredRecord, decode_row, time_from_us
from audit.rows import integer_seq, select_records
from audit.schema import records as records_table

if TYPE_CHECKING:
    from audit.store import AuditLog

EXPORT_KIND = "dsr.export"
FILES = ("records.json", "records.csv", "manifest.json")
_PAGE = 500
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MAX_UNZIPPED = 2 << 30  # a verifier does not inflate more than this (declared sizes)
# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: ``restore(text, token_to_value)``: the text with this request's pseudonym tokens replaced.
Restore = Callable[[str, Mapping[str, str]], str]

FIELDS: dict[str, str] = {
    "seq": "position of the record in the audit log",
    "time": "when the gateway recorded it (UTC, ISO 8601)",
    "kind": "what happened: chat.request / completions.request (what was sent to the model), "
    "chat.response / completions.response (what the model answered)",
    "model": "the model asked",
    "request_id": "the request it belongs to (a request and its response share it)",
    "decision": "what the gateway decided (allow, block, error, ...)",
    "content": "the recorded content, decrypted: for a request the body sent, the pseudonym map "
    "(placeholder -> original value) and the checks made; for a response the answer "
    "(placeholders replaced by the original values), the filters applied and how it was delivered",
}
CSV_COLUMNS: dict[str, str] = {
    "seq": FIELDS["seq"],
    "time": FIELDS["time"],
    "kind": FIELDS["kind"],
    "model": FIELDS["model"],
    "request_id": FIELDS["request_id"],
    "field": "where in the content the value is (dotted path, [n] for the n-th item)",
    "value": "the value; a leading ' is added where a spreadsheet would take it for a formula",
}


def restore_exact(text: str, token_to_value: Mapping[str, str]) -> str:
    """``text`` with every token of ``token_to_value`` (as written, e.g. ``[PERSON_1]``) replaced."""
    for token in sorted(token_to_value, key=len, reverse=True):
        if token and token in text:
            text = text.replace(token, str(token_to_value[token]))
    return text


def _restore_all(value: Any, table: Mapping[str, str], restore: Restore) -> Any:
    if isinstance(value, str):
        return restore(value, table)
    if isinstance(value, list):
        return [_restore_all(v, table, restore) for v in value]
    if isinstance(value, dict):
        return {k: _restore_all(v, table, restore) for k, v in value.items()}
    return value


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, value)`` of every scalar in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class SubjectExport:
    """A signed export: the three files by name, and the manifest (already in ``files``)."""

    files: dict[str, bytes]
    manifest: dict[str, Any]

    @property
    def record_count(self) -> int:
        return int(self.manifest["records"])

    def to_zip(self) -> bytes:
        """The export as a zip archive (fixed timestamps: the same export gives the same bytes)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in FILES:
                archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), self.files[name])
        return buffer.getvalue()


async def _subject_records(audit: AuditLog, subject_ref: str) -> list[StoredRecord]:
    r = records_table.c
    out: list[StoredRecord] = []
    last = 0
    try:
        async with audit.engine.connect() as conn:
            while True:
                rows = (
                    await conn.execute(
                        select_records()
                        .where(r.subject_ref == subject_ref, r.seq > last, integer_seq(conn.dialect.name))
                        .order_by(r.seq)
                        .limit(_PAGE)
                    )
                ).all()
                await conn.rollback()
                if not rows:
                    return out
                for row in rows:
                    item = decode_row(row._mapping)
                    if isinstance(item, StoredRecord) and item.erases is None:
                        out.append(item)
                last = int(rows[-1]._mapping["seq"])
    except Exception:
        raise AuditUnavailable("the audit log cannot be read") from None


async def build_export(
    audit: AuditLog, subject_id: str, now: datetime, *, restore: Restore = restore_exact
) -> SubjectExport:
    """The signed export of ``subject_id`` (see the module docstring), without recording it."""
    subject_ref = audit.subject_ref(check_subject_id(subject_id))
    records = await _subject_records(audit, subject_ref)
    contents: dict[int, Any] = {}
    for start in range(0, len(records), _PAGE):
        contents.update(await audit.decrypt_records(records[start : start + _PAGE]))
    maps: dict[str, Mapping[str, str]] = {}
    for record in records:
        content = contents.get(record.seq)
        if record.request_id and isinstance(content, dict) and isinstance(content.get("pseudonyms"), dict):
            maps[record.request_id] = {str(k): str(v) for k, v in content["pseudonyms"].items()}
    exported: list[dict[str, Any]] = []
    for record in records:
        if record.seq not in contents:
            continue
        content = contents[record.seq]
        table = maps.get(record.request_id or "")
        if table and record.kind.endswith(".response"):
            content = _restore_all(content, table, restore)
        exported.append(
            {
                "seq": record.seq,
                "time": time_from_us(record.ts_us).isoformat(),
                "kind": record.kind,
                "model": record.model,
                "request_id": record.request_id,
                "decision": record.decision,
                "content": content,
            }
        )
    records_json = json.dumps(
        {"subject_ref": subject_ref, "records": exported}, ensure_ascii=False, indent=2, default=str
    ).encode()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    for item in exported:
        for path, value in leaves(item["content"]):
            writer.writerow(
                [
                    item["seq"],
                    item["time"],
                    item["kind"],
                    _cell(item["model"] or ""),
                    _cell(item["request_id"] or ""),
                    _cell(path),
                    _cell(value),
                ]
            )
    records_csv = text.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheets read UTF-8
    files = {"records.json": records_json, "records.csv": records_csv}
    manifest = sign_document(
        audit.signer,
        EXPORT_TAG,
        {
            "format": "dsr-export-v1",
            "subject_ref": subject_ref,
            "generated": aware(now).isoformat(),
            "records": len(exported),
            "records_without_content": len(records) - len(exported),
            "files": {
                name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                for name, data in files.items()
            },
            "fields": FIELDS,
            "csv_columns": CSV_COLUMNS,
        },
    )
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    return SubjectExport(files, manifest)


async def export_subject(
    audit: AuditLog, subject_id: str, now: datetime, actor: Actor, *, restore: Restore = restore_exact
) -> SubjectExport:
    """:func:`build_export`, recorded as ``dsr.export`` (subject reference and counts only).
    Raises InvalidDsrRequest for a malformed id, AuditUnavailable when the log cannot be read or
    the export cannot be recorded (then nothing is returned)."""
    export = await build_export(audit, subject_id, now, restore=restore)
    await record_operation(
        audit,
        EXPORT_KIND,
        actor,
        {
            "subject_ref": export.manifest["subject_ref"],
            "records": export.manifest["records"],
            "generated": export.manifest["generated"],
        },
    )
    return export


def verify_export(files: Mapping[str, bytes], public_key: bytes | None = None) -> SignatureCheck:
    """Check an export: the manifest's signature (with ``public_key``, that it is that key's) and
    that every file is exactly the one the manifest describes. Never raises on malformed input."""
    if set(files) != set(FILES):
        return SignatureCheck(False, "the export must hold exactly " + ", ".join(FILES))
    try:
        manifest = json.loads(files["manifest.json"])
    except (ValueError, UnicodeDecodeError):
        return SignatureCheck(False, "manifest.json is not JSON")
    check = check_document(EXPORT_TAG, manifest, public_key)
    if not check.ok:
        return check
    described = manifest.get("files")
    if not isinstance(described, dict) or set(described) != set(FILES) - {"manifest.json"}:
        return SignatureCheck(False, "the manifest does not describe the files", check.signer_key_id)
    for name, entry in described.items():
        data = files[name]
        if not isinstance(entry, dict) or entry.get("sha256") != hashlib.sha256(data).hexdigest():
            return SignatureCheck(False, f"{name} is not the file the manifest signs", check.signer_key_id)
    return check


def read_export_zip(data: bytes) -> dict[str, bytes]:
    """The files of a zipped export (raises ValueError when it is not a readable zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > len(FILES) * 2 or sum(i.file_size for i in infos) > _MAX_UNZIPPED:
                raise ValueError("too many files or too large")
            return {info.filename: archive.read(info) for info in infos}
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        raise ValueError("not a readable zip archive") from exc
