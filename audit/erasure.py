"""Erasure declarations: what an erasure record says it removed.

Content may be missing from the log only where the log itself says why. Every operation that
deletes data keys or ciphertext (a data-subject erasure, a retention run) appends one ordinary,
hash-chained record whose header column ``erases`` holds a declaration::

    {"key_ids": [...], "seqs": [[lo, hi], ...], "signed_by": "<signing key id>", "signature": "<hex>"}

``key_ids`` are the data keys it deleted (every record sealed under one of them lost its
content); ``seqs`` are ranges of records whose ciphertext it deleted. The signature is Ed25519 by
the log's checkpoint key over the declaration, the record's own seq and its ``prev_hash``: it is
made inside the append transaction, binds the declaration to its place in the chain, and cannot be
made by anyone who can write to the database but does not hold the signing key (record hashes
alone are unkeyed). The declaration holds key ids and seqs only, never personal data.

The verification rule (:class:`audit.verify.ChainVerifier`): a record whose ciphertext is missing
is intact only when a later record (higher seq) in the chain carries a valid declaration naming
its key id or a range containing its seq. A declaration may name only seqs lower than its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audit.records import canonical_json

if TYPE_CHECKING:
    from audit.signing import CheckpointSigner, CheckpointVerifier

ERASURE_KIND = "audit.erasure"
_ERASURE_TAG = b"audit-erasure-v1\n"
_MAX_KEY_ID = 64


class InvalidDeclaration(ValueError):
    """An ``erases`` value that is not a well-formed declaration."""


def seq_ranges(seqs: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Sorted, merged ``(lo, hi)`` ranges covering exactly ``seqs``."""
    return merge_ranges((seq, seq) for seq in seqs)


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, non-overlapping, non-adjacent ranges covering the same seqs as ``ranges``."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ErasureDeclaration:
    """The ``erases`` header of an erasure record (unsigned until :meth:`signed`)."""

    key_ids: tuple[str, ...] = ()
    seqs: tuple[tuple[int, int], ...] = ()
    signed_by: str = ""
    signature: str = ""

    @classmethod
    def of(cls, key_ids: Iterable[str] = (), seqs: Iterable[tuple[int, int]] = ()) -> ErasureDeclaration:
        """A normalized, unsigned declaration (sorted unique key ids, merged ranges)."""
        ranges = tuple(seqs)
        for lo, hi in ranges:
            if not (_is_int(lo) and _is_int(hi)) or not 1 <= lo <= hi:
                raise InvalidDeclaration("seq ranges must be integers 1 <= lo <= hi")
        keys = tuple(key_ids)
        if not all(isinstance(k, str) and 0 < len(k) <= _MAX_KEY_ID for k in keys):
            raise InvalidDeclaration("key ids must be non-empty strings")
        return cls(key_ids=tuple(sorted(set(keys))), seqs=merge_ranges(ranges))

    @property
    def highest_seq(self) -> int | None:
        return self.seqs[-1][1] if self.seqs else None

    def covers(self, seq: int, key_id: str) -> bool:
        """True when this declaration explains missing content of the record ``seq`` under ``key_id``."""
        return key_id in self.key_ids or any(lo <= seq <= hi for lo, hi in self.seqs)

    def message(self, seq: int, prev_hash: str) -> bytes:
        """What the signature covers: the declaration bound to the erasure record's place in the chain."""
        return _ERASURE_TAG + canonical_json(
            {
                "seq": seq,
                "prev_hash": prev_hash,
                "key_ids": list(self.key_ids),
                "seqs": [list(r) for r in self.seqs],
                "signed_by": self.signed_by,
            }
        )

    def signed(self, signer: CheckpointSigner, seq: int, prev_hash: str) -> ErasureDeclaration:
        """This declaration signed for the erasure record at ``seq`` after ``prev_hash``."""
        unsigned = ErasureDeclaration(self.key_ids, self.seqs, signed_by=signer.key_id)
        return ErasureDeclaration(
            self.key_ids,
            self.seqs,
            signed_by=signer.key_id,
            signature=signer.sign(unsigned.message(seq, prev_hash)),
        )

    def verify(self, verifier: CheckpointVerifier | None, seq: int, prev_hash: str) -> bool:
        """The signature is the log's, for exactly this declaration at ``seq`` after ``prev_hash``."""
        return (
            verifier is not None
            and self.signed_by == verifier.key_id
            and verifier.verify(self.message(seq, prev_hash), self.signature)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_ids": list(self.key_ids),
            "seqs": [list(r) for r in self.seqs],
            "signed_by": self.signed_by,
            "signature": self.signature,
        }

    def to_text(self) -> str:
        """Canonical JSON, as stored in the ``erases`` column and hashed with the header."""
        return canonical_json(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErasureDeclaration:
        if not isinstance(data, Mapping) or set(data) != {"key_ids", "seqs", "signed_by", "signature"}:
            raise InvalidDeclaration("an erasure declaration has exactly key_ids, seqs, signed_by, signature")
        key_ids, seqs = data["key_ids"], data["seqs"]
        if not isinstance(key_ids, list) or not isinstance(seqs, list):
            raise InvalidDeclaration("key_ids and seqs must be lists")
        if not all(isinstance(r, list) and len(r) == 2 for r in seqs):
            raise InvalidDeclaration("seqs must be [lo, hi] pairs")
        if not isinstance(data["signed_by"], str) or not isinstance(data["signature"], str):
            raise InvalidDeclaration("signed_by and signature must be strings")
        plain = cls.of(key_ids, ((r[0], r[1]) for r in seqs))
        return cls(plain.key_ids, plain.seqs, signed_by=data["signed_by"], signature=data["signature"])

    @classmethod
    def from_text(cls, text: str) -> ErasureDeclaration:
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            raise InvalidDeclaration("erasure declaration is not JSON") from None
        return cls.from_dict(data)
