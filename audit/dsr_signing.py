"""Signed documents of data-subject requests: export manifests and erasure receipts.

Signed with the audit log's Ed25519 key (the one ``gateway audit public-key`` prints), over a
domain tag and the canonical JSON of the document without its signature, so a signature made for
one kind of document (or a checkpoint, or an export bundle) never verifies as another. The
document carries its own public key for convenience; only a key the recipient pinned proves
origin, as with ``gateway audit verify-bundle --public-key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audit.records import canonical_json
from audit.signing import CheckpointSigner, CheckpointVerifier, public_key_id

EXPORT_TAG = b"dsr-export-manifest-v1\n"
RECEIPT_TAG = b"dsr-erasure-receipt-v1\n"
_SIGNATURE_FIELDS = ("public_key", "signed_by", "signature")


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking a signed document. ``origin_checked``: a pinned key was given and
    the document is signed by it."""

    ok: bool
    reason: str
    signer_key_id: str | None = None
    origin_checked: bool = False


def sign_document(signer: CheckpointSigner, tag: bytes, document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` with ``public_key``, ``signed_by`` and ``signature`` added."""
    body = {k: v for k, v in document.items() if k not in _SIGNATURE_FIELDS}
    body["public_key"] = signer.public_raw.hex()
    body["signed_by"] = signer.key_id
    return {**body, "signature": signer.sign(tag + canonical_json(body))}


def check_document(tag: bytes, document: Any, public_key: bytes | None = None) -> SignatureCheck:
    """Check ``document``'s signature (made by :func:`sign_document` with ``tag``); with
    ``public_key``, also that it is that key's. Never raises on malformed input."""
    if not isinstance(document, Mapping) or not all(
        isinstance(document.get(k), str) for k in _SIGNATURE_FIELDS
    ):
        return SignatureCheck(False, "the document is not signed")
    try:
        embedded = bytes.fromhex(document["public_key"])
        verifier = CheckpointVerifier(embedded)
    except ValueError:
        return SignatureCheck(False, "the document's public key is malformed")
    key_id = public_key_id(embedded)
    if document["signed_by"] != key_id:
        return SignatureCheck(False, "signed_by does not name the document's key", key_id)
    body = {k: v for k, v in document.items() if k != "signature"}
    if not verifier.verify(tag + canonical_json(body), document["signature"]):
        return SignatureCheck(False, "the signature does not verify", key_id)
    if public_key is not None and public_key != embedded:
        return SignatureCheck(
            False, f"signed by key {key_id}, not by the given public key {public_key_id(public_key)}", key_id
        )
    return SignatureCheck(True, "signature valid", key_id, origin_checked=public_key is not None)
