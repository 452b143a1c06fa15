"""Signed export bundles and their offline verification.

A bundle is one JSON Lines file:

* ``{"type": "record", "record": {header..., "ciphertext_hash", "prev_hash", "hash"}}`` per record,
  in seq order, plus ``"content"`` (the decrypted payload) and ``"content_status"`` when content
  was asked for;
* ``{"type": "checkpoint", "checkpoint": {...}}`` for every signed checkpoint inside the range
  (and the one just before it, which anchors the first record's ``prev_hash``);
* a last line ``{"type": "manifest", ...}``: format, the Ed25519 public key, the seq range, counts,
  the SHA-256 of every byte before this line, and an Ed25519 signature over the manifest.

:func:`verify_bundle` needs nothing but the file: it recomputes every record hash and link in the
range, checks the checkpoints against them and the manifest's hash and signature. Decrypted content
cannot be checked against the ciphertext hash without the data keys; it is covered by the
manifest signature only (the exporting gateway vouches for it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.checkpoints import read_checkpoints
from audit.records import record_from_dict, record_to_dict
from audit.signing import Checkpoint, CheckpointVerifier, bundle_message
from audit.verify import ChainVerifier, VerifyReport

if TYPE_CHECKING:
    from audit.store import AuditLog

BUNDLE_FORMAT = "audit-bundle-v1"
_PAGE = 2000


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    records: int
    first_seq: int | None
    last_seq: int | None
    checkpoints: int
    with_content: bool
    sha256: str  # of the whole bundle file


def _line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


async def export_bundle(
    audit_log: AuditLog,
    since: datetime | None,
    until: datetime | None,
    out: Path,
    *,
    with_content: bool = False,
) -> ExportSummary:
    """Write the records with time in [since, until) as a signed bundle at ``out`` (0600)."""
    body = bytearray()
    count = 0
    span = await audit_log.seq_range(since, until)
    checkpoints: list[Checkpoint] = []
    if span is not None:
        first, last = span
        start = first
        while start <= last:
            page = await audit_log.read_range(start, min(last, start + _PAGE - 1))
            contents = await audit_log.decrypt_records(page) if with_content else {}
            for record in page:
                entry: dict[str, Any] = {
                    "type": "record",
                    "record": record_to_dict(record),
                    "erased": record.erased,
                }
                if with_content:
                    status = (
                        "erased" if record.erased else ("ok" if record.seq in contents else "unavailable")
                    )
                    entry["content_status"] = status
                    entry["content"] = contents.get(record.seq)
                body += _line(entry)
                count += 1
            start += _PAGE
        external = await asyncio.to_thread(read_checkpoints, audit_log.settings.checkpoint_file)
        seen: dict[int, Checkpoint] = {}
        for cp in [*await audit_log.stored_checkpoints(), *external.checkpoints]:
            if first - 1 <= cp.seq <= last and audit_log.signer.verifier.verify_checkpoint(cp):
                seen.setdefault(cp.seq, cp)
        checkpoints = [seen[seq] for seq in sorted(seen)]
        for cp in checkpoints:
            body += _line({"type": "checkpoint", "checkpoint": cp.to_dict()})
    manifest: dict[str, Any] = {
        "type": "manifest",
        "format": BUNDLE_FORMAT,
        "public_key": audit_log.signer.public_raw.hex(),
        "key_id": audit_log.signer.key_id,
        "first_seq": span[0] if span else None,
        "last_seq": span[1] if span else None,
        "records": count,
        "checkpoints": len(checkpoints),
        "with_content": with_content,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    manifest["signature"] = audit_log.signer.sign(bundle_message(manifest))
    data = bytes(body) + _line(manifest)
    await asyncio.to_thread(_write_private, out, data)
    return ExportSummary(
        path=out,
        records=count,
        first_seq=manifest["first_seq"],
        last_seq=manifest["last_seq"],
        checkpoints=len(checkpoints),
        with_content=with_content,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _bad(reason: str, first_bad_seq: int | None = None) -> VerifyReport:
    return VerifyReport(
        ok=False, checked=0, first_bad_seq=first_bad_seq, reason=reason, checkpoints_checked=0
    )


def verify_bundle(path: Path, public_key: bytes | None = None) -> VerifyReport:
    """Check a bundle offline: record hashes and links, checkpoint signatures, manifest hash and signature.

    ``public_key`` (raw Ed25519, 32 bytes) pins the signer; without it the manifest's key is used,
    which proves integrity, not origin.
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        return _bad("bundle cannot be read")
    stripped = data.rstrip(b"\n")
    cut = stripped.rfind(b"\n") + 1
    body, manifest_raw = data[:cut], stripped[cut:]
    try:
        manifest = json.loads(manifest_raw)
        if not isinstance(manifest, dict) or manifest.get("type") != "manifest":
            raise ValueError
        if manifest.get("format") != BUNDLE_FORMAT:
            return _bad("unknown bundle format")
        verifier = CheckpointVerifier(bytes.fromhex(manifest["public_key"]))
    except (ValueError, KeyError, TypeError):
        return _bad("bundle has no valid manifest line")
    if public_key is not None and public_key != verifier.public_raw:
        return _bad("bundle is signed by an unexpected key")

    records = []
    erased = 0
    checkpoints: list[Checkpoint] = []
    for number, raw in enumerate(body.splitlines(), start=1):
        try:
            entry = json.loads(raw)
            if entry["type"] == "record":
                records.append(record_from_dict(entry["record"]))
                erased += entry.get("erased") is True
            elif entry["type"] == "checkpoint":
                checkpoints.append(Checkpoint.from_dict(entry["checkpoint"]))
            else:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return _bad(f"bundle line {number} is malformed", records[-1].seq + 1 if records else None)

    first_seq = records[0].seq if records else 1
    anchor = records[0].prev_hash if records else ""
    chain = ChainVerifier(
        verifier,
        checkpoint_seqs=frozenset(cp.seq for cp in checkpoints),
        expected_seq=first_seq,
        prev_hash=anchor,
    )
    inner = []
    for cp in checkpoints:
        if cp.seq == first_seq - 1:
            if not verifier.verify_checkpoint(cp):
                chain.problem(f"checkpoint at seq {cp.seq} has no valid signature")
            elif cp.head_hash != anchor:
                chain.fail(first_seq, f"first record does not link to the signed checkpoint at seq {cp.seq}")
        else:
            inner.append(cp)
    for record in records:
        try:
            chain.feed(record)
        except (TypeError, ValueError):
            chain.fail(record.seq, "record fields are malformed")
    last_seq = records[-1].seq if records else None
    report = replace(chain.finish(inner, head_seq=last_seq if last_seq is not None else 0), erased=erased)

    problems: list[str] = []
    if hashlib.sha256(body).hexdigest() != manifest.get("body_sha256"):
        problems.append("bundle content does not match the manifest hash")
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    if not verifier.verify(bundle_message(unsigned), str(manifest.get("signature", ""))):
        problems.append("manifest signature is invalid")
    if manifest.get("records") != len(records) or (
        records and (manifest.get("first_seq") != first_seq or manifest.get("last_seq") != last_seq)
    ):
        problems.append("manifest range does not match the records")
    if not problems:
        return report
    return replace(
        report,
        ok=False,
        reason=report.reason or problems[0],
        problems=(*report.problems, *problems),
    )
