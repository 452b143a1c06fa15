"""Signed export bundles and their offline verification.

A bundle is JSON Lines, built while it is read (:class:`BundleStream`): the HTTP API streams it to
the client and never stores it; only the CLI writes one, to the file the operator names (0600).

* ``{"type": "record", "record": {header..., "ciphertext_hash", "prev_hash", "hash"}, "erased"}``
  per record the caller may see, in seq order, plus ``"content"`` (the decrypted payload) and
  ``"content_status"`` when content was asked for;
* ``{"type": "link", "seq", "prev_hash", "hash"}`` in place of a record the caller may not see (a
  tenant-scoped export: another tenant's record, or one with no tenant). Nothing of its header is
  disclosed; its hash is taken as given and its links are checked, so the chain still verifies;
* ``{"type": "damaged", "seq", "hash"}`` for a stored row that does not decode (tampering);
* ``{"type": "checkpoint", "checkpoint": {...}}`` for every signed checkpoint inside the range
  (and the one just before it, which anchors the first record's ``prev_hash``);
* ``{"type": "erasure", "seq", "prev_hash", "erases": {...}}``: the signed declaration of an
  erasure record that explains content missing from a record in the bundle but is not itself a
  ``record`` line (it lies after the range, or is shown only as a link). The declaration's own
  signature binds it to that seq and ``prev_hash`` (:mod:`audit.erasure`);
* a last line ``{"type": "manifest", ...}``: format, the Ed25519 public key, the seq range, the
  scope (``"all"``, or ``"tenant"`` with the caller's tenant), counts, the SHA-256 of every byte
  before this line, and an Ed25519 signature over the manifest.

:func:`verify_bundle` needs nothing but the file: it recomputes every record hash and link in the
range, applies the erasure rule, checks the checkpoints against the chain and the manifest's hash
and signature. That proves integrity; origin only when the caller pins the gateway's public key
(``public_key``, from ``gateway audit public-key``). Decrypted content cannot be checked against
the ciphertext hash without the data keys; it is covered by the manifest signature only (the
exporting gateway vouches for it), as is each record's ``erased`` flag.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.checkpoints import read_checkpoints
from audit.erasure import ErasureDeclaration, InvalidDeclaration
from audit.files import open_private_temp, replace_with, write_all
from audit.records import DamagedRow, RecordDecodeError, StoredRecord, record_from_dict, record_to_dict
from audit.signing import Checkpoint, CheckpointVerifier, bundle_message
from audit.verify import ChainVerifier, VerifyReport

if TYPE_CHECKING:
    from audit.store import AuditLog

BUNDLE_FORMAT = "audit-bundle-v2"
_READABLE_FORMATS = frozenset({"audit-bundle-v1", BUNDLE_FORMAT})
_PAGE = 2000


@dataclass(frozen=True)
class ExportSummary:
    """What a bundle holds. ``path`` is where the CLI wrote it; None for an in-memory bundle."""

    records: int  # record lines (headers the caller may see)
    first_seq: int | None
    last_seq: int | None
    checkpoints: int
    with_content: bool
    sha256: str  # of the whole bundle
    links: int = 0  # records shown only as links (other tenants' or no tenant's)
    erasures: int = 0  # erasure declaration lines
    damaged: int = 0  # rows that did not decode
    caller_tenant: str | None = None
    path: Path | None = None


@dataclass(frozen=True)
class BundleReport(VerifyReport):
    """A bundle's verification. ``origin_checked`` is True only when the signer was pinned with a
    public key; otherwise anyone could have re-signed it with a key of their own."""

    origin_checked: bool = False
    signer_key_id: str | None = None
    scope: str | None = None  # "all" or "tenant"
    tenant: str | None = None


def _line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()


def visible_to(caller_tenant: str | None, record_tenant: str | None) -> bool:
    """A caller bound to tenant T sees only T's records; an unbound caller (None) sees every record."""
    return caller_tenant is None or record_tenant == caller_tenant


class BundleStream:
    """A signed bundle of the records with time in [since, until), as chunks of bytes produced while
    it is iterated (one chunk per page of records, then checkpoints, erasure lines, the manifest).

    ``caller_tenant`` is the tenant the requesting credential is bound to (None: unbound, every
    record in clear); other records appear as links. ``summary`` is set after the last chunk.
    """

    def __init__(
        self,
        audit_log: AuditLog,
        since: datetime | None,
        until: datetime | None,
        *,
        with_content: bool = False,
        caller_tenant: str | None = None,
    ) -> None:
        self._log = audit_log
        self._since = since
        self._until = until
        self._with_content = with_content
        self._caller_tenant = caller_tenant
        self.summary: ExportSummary | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        audit_log, tenant = self._log, self._caller_tenant
        body = hashlib.sha256()
        whole = hashlib.sha256()
        counts = {"records": 0, "links": 0, "damaged": 0, "erasures": 0}
        checkpoints: list[Checkpoint] = []
        span = await audit_log.seq_range(self._since, self._until)
        if span is not None:
            first, last = span
            missing: list[tuple[int, str]] = []  # visible records whose content is gone
            shown_erasures: set[int] = set()
            for start in range(first, last + 1, _PAGE):
                page = await audit_log.read_rows(start, min(last, start + _PAGE - 1))
                chunk = await self._page(page, counts, missing, shown_erasures)
                body.update(chunk)
                whole.update(chunk)
                yield chunk
            evidence = bytearray()
            checkpoints = await _checkpoints_for(audit_log, first, last)
            for cp in checkpoints:
                evidence += _line({"type": "checkpoint", "checkpoint": cp.to_dict()})
            for seq, prev_hash, declaration in await audit_log.erasure_declarations(first):
                if seq in shown_erasures:
                    continue
                if any(s < seq and declaration.covers(s, key_id) for s, key_id in missing):
                    counts["erasures"] += 1
                    evidence += _line(
                        {
                            "type": "erasure",
                            "seq": seq,
                            "prev_hash": prev_hash,
                            "erases": declaration.to_dict(),
                        }
                    )
            body.update(evidence)
            whole.update(evidence)
            yield bytes(evidence)
        manifest: dict[str, Any] = {
            "type": "manifest",
            "format": BUNDLE_FORMAT,
            "public_key": audit_log.signer.public_raw.hex(),
            "key_id": audit_log.signer.key_id,
            "first_seq": span[0] if span else None,
            "last_seq": span[1] if span else None,
            **counts,
            "checkpoints": len(checkpoints),
            "with_content": self._with_content,
            "since": self._since.isoformat() if self._since else None,
            "until": self._until.isoformat() if self._until else None,
            "scope": "all" if tenant is None else "tenant",
            "tenant": tenant,
            "body_sha256": body.hexdigest(),
        }
        manifest["signature"] = audit_log.signer.sign(bundle_message(manifest))
        tail = _line(manifest)
        whole.update(tail)
        self.summary = ExportSummary(
            records=counts["records"],
            first_seq=manifest["first_seq"],
            last_seq=manifest["last_seq"],
            checkpoints=len(checkpoints),
            with_content=self._with_content,
            sha256=whole.hexdigest(),
            links=counts["links"],
            erasures=counts["erasures"],
            damaged=counts["damaged"],
            caller_tenant=tenant,
        )
        yield tail

    async def _page(
        self,
        page: list[StoredRecord | DamagedRow],
        counts: dict[str, int],
        missing: list[tuple[int, str]],
        shown_erasures: set[int],
    ) -> bytes:
        visible = [
            r for r in page if isinstance(r, StoredRecord) and visible_to(self._caller_tenant, r.tenant)
        ]
        contents = await self._log.decrypt_records(visible) if self._with_content else {}
        shown = {r.seq for r in visible}
        chunk = bytearray()
        for item in page:
            if isinstance(item, DamagedRow):
                counts["damaged"] += 1
                chunk += _line({"type": "damaged", "seq": item.seq, "hash": item.hash})
            elif item.seq not in shown:
                counts["links"] += 1
                chunk += _line(
                    {"type": "link", "seq": item.seq, "prev_hash": item.prev_hash, "hash": item.hash}
                )
            else:
                counts["records"] += 1
                if item.erased:
                    missing.append((item.seq, item.key_id))
                if item.erases is not None:
                    shown_erasures.add(item.seq)
                entry: dict[str, Any] = {
                    "type": "record",
                    "record": record_to_dict(item),
                    "erased": item.erased,
                }
                if self._with_content:
                    status = "erased" if item.erased else ("ok" if item.seq in contents else "unavailable")
                    entry["content_status"] = status
                    entry["content"] = contents.get(item.seq)
                chunk += _line(entry)
        return bytes(chunk)


async def _checkpoints_for(audit_log: AuditLog, first: int, last: int) -> list[Checkpoint]:
    external = await asyncio.to_thread(read_checkpoints, audit_log.settings.checkpoint_file)
    seen: dict[int, Checkpoint] = {}
    for cp in [*await audit_log.stored_checkpoints(), *external.checkpoints]:
        if first - 1 <= cp.seq <= last and audit_log.signer.verifier.verify_checkpoint(cp):
            seen.setdefault(cp.seq, cp)
    return [seen[seq] for seq in sorted(seen)]


async def bundle_bytes(
    audit_log: AuditLog,
    since: datetime | None,
    until: datetime | None,
    *,
    with_content: bool = False,
    caller_tenant: str | None = None,
) -> tuple[bytes, ExportSummary]:
    """The whole bundle in memory (never written to a file) and its summary (``path`` None)."""
    stream = BundleStream(audit_log, since, until, with_content=with_content, caller_tenant=caller_tenant)
    data = b"".join([chunk async for chunk in stream])
    assert stream.summary is not None
    return data, stream.summary


async def export_bundle(
    audit_log: AuditLog,
    since: datetime | None,
    until: datetime | None,
    out: Path,
    *,
    with_content: bool = False,
    caller_tenant: str | None = None,
) -> ExportSummary:
    """Write the bundle of [since, until) to ``out``, readable by this user only (0600).

    For the operator's explicit export (CLI); the file appears complete or not at all."""
    stream = BundleStream(audit_log, since, until, with_content=with_content, caller_tenant=caller_tenant)
    tmp, fd = await asyncio.to_thread(open_private_temp, out)
    try:
        try:
            async for chunk in stream:
                await asyncio.to_thread(write_all, fd, chunk)
            await asyncio.to_thread(os.fsync, fd)
        finally:
            os.close(fd)
        await asyncio.to_thread(replace_with, tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    assert stream.summary is not None
    return replace(stream.summary, path=out)


# ---- offline verification ------------------------------------------------------------------------


def _bad(reason: str, first_bad_seq: int | None = None, **extra: Any) -> BundleReport:
    return BundleReport(
        ok=False, checked=0, first_bad_seq=first_bad_seq, reason=reason, checkpoints_checked=0, **extra
    )


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("not an integer")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


@dataclass(frozen=True)
class _ChainLine:
    seq: int
    prev_hash: str | None
    record: StoredRecord | None = None  # a record line
    erased: bool = False
    hash: str | None = None  # a link or damaged line
    damaged: bool = False


def verify_bundle(path: Path, public_key: bytes | None = None) -> BundleReport:
    """Check a bundle offline: record hashes and links, the erasure rule, checkpoint signatures,
    manifest hash and signature.

    ``public_key`` (raw Ed25519, 32 bytes) pins the signer: a bundle signed by any other key is
    refused. Without it the manifest's own key is used, which proves integrity, not origin
    (``origin_checked`` is False).
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        return _bad("bundle cannot be read")
    return verify_bundle_bytes(data, public_key)


def verify_bundle_bytes(data: bytes, public_key: bytes | None = None) -> BundleReport:
    """:func:`verify_bundle` on a bundle held in memory."""
    origin_checked = public_key is not None
    stripped = data.rstrip(b"\n")
    cut = stripped.rfind(b"\n") + 1
    body, manifest_raw = data[:cut], stripped[cut:]
    try:
        manifest = json.loads(manifest_raw)
        if not isinstance(manifest, dict) or manifest.get("type") != "manifest":
            raise ValueError
        if manifest.get("format") not in _READABLE_FORMATS:
            return _bad("unknown bundle format", origin_checked=origin_checked)
        verifier = CheckpointVerifier(bytes.fromhex(manifest["public_key"]))
    except (ValueError, KeyError, TypeError):
        return _bad("bundle has no valid manifest line", origin_checked=origin_checked)
    about = {
        "origin_checked": origin_checked,
        "signer_key_id": verifier.key_id,
        "scope": manifest.get("scope", "all"),
        "tenant": manifest.get("tenant"),
    }
    if public_key is not None and public_key != verifier.public_raw:
        return _bad(f"bundle is signed by key {verifier.key_id}, not by the given public key", **about)

    chain_lines: list[_ChainLine] = []
    checkpoints: list[Checkpoint] = []
    erasures: list[tuple[int, str, ErasureDeclaration]] = []
    for number, raw in enumerate(body.splitlines(), start=1):
        try:
            entry = json.loads(raw)
            kind = entry["type"]
            if kind == "record":
                record = record_from_dict(entry["record"])
                chain_lines.append(
                    _ChainLine(
                        record.seq, record.prev_hash, record=record, erased=entry.get("erased") is True
                    )
                )
            elif kind == "link":
                chain_lines.append(
                    _ChainLine(_int(entry["seq"]), _str(entry["prev_hash"]), hash=_str(entry["hash"]))
                )
            elif kind == "damaged":
                hash_ = entry.get("hash")
                chain_lines.append(
                    _ChainLine(
                        _int(entry["seq"]),
                        None,
                        hash=_str(hash_) if hash_ is not None else None,
                        damaged=True,
                    )
                )
            elif kind == "checkpoint":
                checkpoints.append(Checkpoint.from_dict(entry["checkpoint"]))
            elif kind == "erasure":
                declaration = ErasureDeclaration.from_dict(entry["erases"])
                erasures.append((_int(entry["seq"]), _str(entry["prev_hash"]), declaration))
            else:
                raise ValueError
        except (ValueError, KeyError, TypeError, RecordDecodeError, InvalidDeclaration):
            following = chain_lines[-1].seq + 1 if chain_lines else None
            return _bad(f"bundle line {number} is malformed", following, **about)

    first_seq = chain_lines[0].seq if chain_lines else 1
    anchor = chain_lines[0].prev_hash if chain_lines else None
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
            elif anchor is not None and cp.head_hash != anchor:
                chain.fail(first_seq, f"first record does not link to the signed checkpoint at seq {cp.seq}")
        else:
            inner.append(cp)
    for line in chain_lines:
        if line.record is not None:
            chain.feed(line.record, content_missing=line.erased)
        elif line.damaged:
            chain.feed_damaged(line.seq, "unknown", line.hash)
        else:
            chain.feed_link(line.seq, line.prev_hash or "", line.hash or "")
    prev_at = {line.seq: line.prev_hash for line in chain_lines if not line.damaged}
    for seq, prev_hash, declaration in erasures:
        if seq in prev_at and prev_at[seq] != prev_hash:
            chain.fail(seq, "erasure line does not match the record at its seq")
            continue
        chain.declare(seq, prev_hash, declaration)
    last_seq = chain_lines[-1].seq if chain_lines else None
    report = chain.finish(inner, head_seq=last_seq if last_seq is not None else 0)

    records = sum(line.record is not None for line in chain_lines)
    links = sum(line.record is None and not line.damaged for line in chain_lines)
    problems: list[str] = []
    if hashlib.sha256(body).hexdigest() != manifest.get("body_sha256"):
        problems.append("bundle content does not match the manifest hash")
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    if not verifier.verify(bundle_message(unsigned), str(manifest.get("signature", ""))):
        problems.append("manifest signature is invalid")
    if (
        manifest.get("records") != records
        or manifest.get("links", 0) != links
        or (chain_lines and (manifest.get("first_seq") != first_seq or manifest.get("last_seq") != last_seq))
    ):
        problems.append("manifest range does not match the records")
    result = BundleReport(**{f.name: getattr(report, f.name) for f in fields(VerifyReport)}, **about)
    if not problems:
        return result
    return replace(
        result,
        ok=False,
        reason=result.reason or problems[0],
        problems=(*result.problems, *problems),
    )
