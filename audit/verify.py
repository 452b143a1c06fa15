"""Pure verification of a chain of stored records against signed checkpoints.

Used online (:meth:`audit.store.AuditLog.verify`, rows streamed page by page) and offline
(:func:`audit.export.verify_bundle`). Problems are of two kinds:

* precise: a record that does not match its own hash, does not link to its predecessor, is
  missing (seq gap), goes back in time, or whose ciphertext does not authenticate against its
  header (only when the caller can decrypt);
* ranged: a signed checkpoint whose head hash differs from the stored record's hash at that
  seq. An attacker without the signing key may re-chain every later record consistently, so the
  first bad record lies after the newest checkpoint that still matches; a precise problem in that
  range names it exactly, otherwise the first seq after the matching checkpoint is named.

A chain shorter than a signed checkpoint (truncated tail) names the first missing seq.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from audit.records import GENESIS_HASH, StoredRecord, ciphertext_digest, record_hash
from audit.signing import Checkpoint, CheckpointVerifier

_MAX_PRECISE = 10_000


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a verification. ``first_bad_seq`` names the first record that cannot be trusted."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
    checkpoints_checked: int
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    erased: int = 0
    authenticated: int = 0
    external_checkpoints: int = 0
    problems: tuple[str, ...] = field(default=())


@dataclass
class ChainVerifier:
    """Feed records in seq order, then :meth:`finish` with the checkpoints to get a report."""

    verifier: CheckpointVerifier | None
    checkpoint_seqs: frozenset[int] = frozenset()
    expected_seq: int = 1
    prev_hash: str = GENESIS_HASH
    prev_ts_us: int | None = None
    checked: int = 0
    erased: int = 0
    authenticated: int = 0
    _precise: list[tuple[int, str]] = field(default_factory=list)
    _hashes_at: dict[int, str] = field(default_factory=dict)
    _other: list[str] = field(default_factory=list)

    def fail(self, seq: int, reason: str) -> None:
        if len(self._precise) < _MAX_PRECISE:
            self._precise.append((seq, reason))

    def problem(self, reason: str) -> None:
        """A problem not tied to one record (e.g. a forged checkpoint)."""
        self._other.append(reason)

    def feed(self, record: StoredRecord, authentic: bool | None = None) -> None:
        """Check one record; ``authentic`` is the payload tag check (None: not checked)."""
        seq = record.seq
        if seq > self.expected_seq:
            self.fail(self.expected_seq, f"records {self.expected_seq}..{seq - 1} are missing")
        elif seq < self.expected_seq:
            self.fail(seq, "record out of order or duplicated")
        if record.ciphertext is None:
            self.erased += 1
        elif ciphertext_digest(record.ciphertext) != record.ciphertext_hash:
            self.fail(seq, "ciphertext does not match its recorded hash")
        if record_hash(record) != record.hash:
            self.fail(seq, "record hash does not match its contents")
        if record.prev_hash != self.prev_hash:
            self.fail(seq, "prev_hash does not link to the previous record")
        if self.prev_ts_us is not None and record.ts_us < self.prev_ts_us:
            self.fail(seq, "record time is earlier than its predecessor's")
        if authentic is False:
            self.fail(seq, "ciphertext does not authenticate against the record header")
        elif authentic:
            self.authenticated += 1
        if seq in self.checkpoint_seqs:
            self._hashes_at[seq] = record.hash
        self.prev_hash = record.hash
        self.prev_ts_us = record.ts_us
        self.expected_seq = max(self.expected_seq, seq + 1)
        self.checked += 1

    def finish(
        self, checkpoints: Iterable[Checkpoint], *, external: int = 0, head_seq: int | None = None
    ) -> VerifyReport:
        """Compare the walked chain with the signed checkpoints and build the report.

        ``head_seq`` is the last seq the chain should have (default: the last one fed).
        """
        head = self.expected_seq - 1 if head_seq is None else head_seq
        precise = list(self._precise)
        ranges: list[tuple[int, int, str]] = []
        good_anchors: list[int] = [0]
        checked = 0
        for cp in sorted(checkpoints, key=lambda c: c.seq):
            if self.verifier is None or not self.verifier.verify_checkpoint(cp):
                self._other.append(f"checkpoint at seq {cp.seq} has no valid signature")
                continue
            checked += 1
            if cp.seq > head:
                precise.append(
                    (
                        head + 1,
                        f"chain ends at seq {head} but a signed checkpoint covers seq {cp.seq} "
                        "(truncated tail)",
                    )
                )
            elif self._hashes_at.get(cp.seq) == cp.head_hash:
                bisect.insort(good_anchors, cp.seq)
            else:
                anchor = good_anchors[bisect.bisect_left(good_anchors, cp.seq) - 1]
                ranges.append(
                    (
                        anchor + 1,
                        cp.seq,
                        f"records after seq {anchor} do not match the signed checkpoint at seq {cp.seq}",
                    )
                )
        candidates = list(precise)
        for low, high, why in ranges:
            if not any(low <= seq <= high for seq, _ in precise):
                candidates.append((low, why))
        candidates.sort(key=lambda item: item[0])
        problems = tuple([why for _, why in candidates[:20]] + self._other[:20])
        first_seq: int | None = candidates[0][0] if candidates else None
        reason: str | None = candidates[0][1] if candidates else (self._other[0] if self._other else None)
        return VerifyReport(
            ok=not candidates and not self._other,
            checked=self.checked,
            first_bad_seq=first_seq,
            reason=reason,
            checkpoints_checked=checked,
            head_seq=head,
            head_hash=self.prev_hash,
            erased=self.erased,
            authenticated=self.authenticated,
            external_checkpoints=external,
            problems=problems,
        )
