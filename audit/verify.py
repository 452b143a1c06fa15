"""Pure verification of a chain of stored records against signed checkpoints.

Used online (:meth:`audit.store.AuditLog.verify`, rows streamed page by page) and offline
(:func:`audit.export.verify_bundle`). Problems are of two kinds:

* precise: a record that does not match its own hash, does not link to its predecessor, is
  missing (seq gap), goes back in time, does not decode (a column of the wrong type), whose
  ciphertext does not authenticate against its header (only when the caller can decrypt), or
  whose content is missing without a later erasure record declaring it (:mod:`audit.erasure`);
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

from audit.erasure import ErasureDeclaration, InvalidDeclaration
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
    erasure_records: int = 0  # valid erasure declarations that took part


@dataclass
class ChainVerifier:
    """Feed records in seq order, then :meth:`finish` with the checkpoints to get a report.

    ``prev_hash`` is None while the predecessor's hash is unknown (it did not decode)."""

    verifier: CheckpointVerifier | None
    checkpoint_seqs: frozenset[int] = frozenset()
    expected_seq: int = 1
    prev_hash: str | None = GENESIS_HASH
    prev_ts_us: int | None = None
    checked: int = 0
    erased: int = 0
    authenticated: int = 0
    erasure_records: int = 0
    _precise: list[tuple[int, str]] = field(default_factory=list)
    _lowest: tuple[int, str] | None = None
    _hashes_at: dict[int, str] = field(default_factory=dict)
    _other: list[str] = field(default_factory=list)
    # Erased records not yet explained by an erasure declaration: seq -> key id, in seq order.
    _unexplained: dict[int, str] = field(default_factory=dict)
    _unexplained_order: list[int] = field(default_factory=list)
    _unexplained_by_key: dict[str, list[int]] = field(default_factory=dict)
    _declared: list[tuple[int, ErasureDeclaration]] = field(default_factory=list)

    def fail(self, seq: int, reason: str) -> None:
        if self._lowest is None or seq < self._lowest[0]:
            self._lowest = (seq, reason)
        if len(self._precise) < _MAX_PRECISE:
            self._precise.append((seq, reason))

    def problem(self, reason: str) -> None:
        """A problem not tied to one record (e.g. a forged checkpoint)."""
        self._other.append(reason)

    def _place(self, seq: int, prev_hash: str | None) -> bool:
        """Seq order and the link to the predecessor; True when both hold."""
        intact = True
        if seq > self.expected_seq:
            self.fail(self.expected_seq, f"records {self.expected_seq}..{seq - 1} are missing")
            intact = False
        elif seq < self.expected_seq:
            self.fail(seq, "record out of order or duplicated")
            intact = False
        if self.prev_hash is not None and prev_hash != self.prev_hash:
            self.fail(seq, "prev_hash does not link to the previous record")
            intact = False
        return intact

    def _advance(self, seq: int, hash_: str | None) -> None:
        if hash_ is not None and seq in self.checkpoint_seqs:
            self._hashes_at[seq] = hash_
        self.prev_hash = hash_
        self.expected_seq = max(self.expected_seq, seq + 1)
        self.checked += 1

    def feed(
        self, record: StoredRecord, authentic: bool | None = None, *, content_missing: bool | None = None
    ) -> None:
        """Check one record; ``authentic`` is the payload tag check (None: not checked).

        ``content_missing`` says whether its ciphertext is gone where the record itself does not
        carry it (an export bundle); by default, whether ``record.ciphertext`` is None."""
        seq = record.seq
        in_chain = self._place(seq, record.prev_hash)
        if record.ciphertext is None if content_missing is None else content_missing:
            self.erased += 1
            self._unexplained_content(seq, record.key_id)
        elif record.ciphertext is not None and ciphertext_digest(record.ciphertext) != record.ciphertext_hash:
            self.fail(seq, "ciphertext does not match its recorded hash")
        if record_hash(record) != record.hash:
            self.fail(seq, "record hash does not match its contents")
            in_chain = False
        if self.prev_ts_us is not None and record.ts_us < self.prev_ts_us:
            self.fail(seq, "record time is earlier than its predecessor's")
        if authentic is False:
            self.fail(seq, "ciphertext does not authenticate against the record header")
        elif authentic:
            self.authenticated += 1
        if record.erases is not None:
            declaration = self._declaration(seq, record.prev_hash, record.erases)
            if declaration is not None and in_chain:
                self.erasure_records += 1
                self._explain(seq, declaration)
        self.prev_ts_us = record.ts_us
        self._advance(seq, record.hash)

    def feed_link(self, seq: int, prev_hash: str, hash_: str) -> None:
        """A record seen only as its place in the chain (an export for another tenant): the link is
        checked, the hash taken as given."""
        self._place(seq, prev_hash)
        self._advance(seq, hash_)

    def feed_damaged(self, seq: int | None, column: str, hash_: str | None) -> None:
        """A stored row that does not decode: tampering at its seq (the expected one if the seq
        itself does not decode). The next record's link is checked against ``hash_`` if it decoded."""
        at = self.expected_seq if seq is None else seq
        self._place(at, self.prev_hash)
        self.fail(at, f"stored record does not decode (column {column})")
        self._advance(at, hash_)

    @property
    def unexplained(self) -> int:
        """How many records fed so far lack content that no declaration has explained yet."""
        return len(self._unexplained)

    def declare(
        self,
        seq: int,
        prev_hash: str,
        erases: str | ErasureDeclaration,
        *,
        report_invalid: bool = True,
    ) -> bool:
        """An erasure declaration carried beside the chain (an export bundle's ``erasure`` line, for
        an erasure record after the exported range or not shown in it; an erasure record committed
        after an online walk began). It counts only when it is validly signed for ``seq`` and
        ``prev_hash``; an invalid one is a problem unless ``report_invalid`` is False (a record
        beyond the walked chain, which the next verification checks in place). Returns whether it
        counts."""
        if not report_invalid and isinstance(erases, ErasureDeclaration):
            highest = erases.highest_seq
            if (highest is not None and highest >= seq) or not erases.verify(self.verifier, seq, prev_hash):
                return False
        declaration = self._declaration(seq, prev_hash, erases, precise=False)
        if declaration is None:
            return False
        self.erasure_records += 1
        self._declared.append((seq, declaration))
        return True

    def _declaration(
        self, seq: int, prev_hash: str, erases: str | ErasureDeclaration, *, precise: bool = True
    ) -> ErasureDeclaration | None:
        why = None
        declaration = None
        try:
            declaration = (
                erases if isinstance(erases, ErasureDeclaration) else ErasureDeclaration.from_text(erases)
            )
        except InvalidDeclaration:
            why = "erasure declaration is malformed"
        if declaration is not None:
            highest = declaration.highest_seq
            if highest is not None and highest >= seq:
                why = "erasure record names seqs at or after its own"
            elif not declaration.verify(self.verifier, seq, prev_hash):
                why = "erasure declaration has no valid signature"
        if why is None:
            return declaration
        if precise:
            self.fail(seq, why)
        else:
            self.problem(f"{why} (erasure record at seq {seq})")
        return None

    def _unexplained_content(self, seq: int, key_id: str) -> None:
        if self._unexplained_order and seq < self._unexplained_order[-1]:
            bisect.insort(self._unexplained_order, seq)
        else:
            self._unexplained_order.append(seq)
        self._unexplained[seq] = key_id
        self._unexplained_by_key.setdefault(key_id, []).append(seq)

    def _explain(self, erasure_seq: int, declaration: ErasureDeclaration) -> None:
        """Excuse the missing content that ``declaration`` (at ``erasure_seq``) names."""
        for key_id in declaration.key_ids:
            later = []
            for seq in self._unexplained_by_key.pop(key_id, []):
                if seq < erasure_seq:
                    self._unexplained.pop(seq, None)
                else:
                    later.append(seq)
            if later:
                self._unexplained_by_key[key_id] = later
        order = self._unexplained_order
        for lo, hi in declaration.seqs:
            start, end = bisect.bisect_left(order, lo), bisect.bisect_right(order, hi)
            for seq in order[start:end]:
                self._unexplained.pop(seq, None)
            del order[start:end]

    def finish(
        self, checkpoints: Iterable[Checkpoint], *, external: int = 0, head_seq: int | None = None
    ) -> VerifyReport:
        """Compare the walked chain with the signed checkpoints and build the report.

        ``head_seq`` is the last seq the chain should have (default: the last one fed).
        """
        for seq, declaration in self._declared:
            self._explain(seq, declaration)
        for seq in self._unexplained:
            self.fail(seq, "content is missing and no later erasure record declares it")
        head = self.expected_seq - 1 if head_seq is None else head_seq
        precise = list(self._precise)
        if self._lowest is not None and self._lowest not in precise:
            precise.append(self._lowest)
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
            head_hash=self.prev_hash or "",
            erased=self.erased,
            authenticated=self.authenticated,
            external_checkpoints=external,
            problems=problems,
            erasure_records=self.erasure_records,
        )
