"""Signed checkpoints: Ed25519 over (seq, head hash, time) of the chain; the log's public key.

The public key is what pins the origin of an export bundle: ``gateway audit public-key`` prints it
(:func:`public_key_text`), ``gateway audit verify-bundle --public-key FILE`` reads it back
(:func:`parse_public_key`) and refuses a bundle signed by any other key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.errors import KeyUnavailable
from audit.files import create_private_file, ensure_private_dir
from audit.keyring import SIGNING_KEY_FILE, read_secret
from audit.records import canonical_json, time_from_us

_CHECKPOINT_TAG = b"audit-checkpoint-v1\n"
_BUNDLE_TAG = b"audit-bundle-v1\n"


@dataclass(frozen=True)
class Checkpoint:
    """The signed statement "the chain had ``seq`` records and its head hash was ``head_hash``"."""

    seq: int
    head_hash: str
    ts_us: int
    key_id: str
    signature: str  # hex

    @property
    def time(self) -> Any:
        return time_from_us(self.ts_us)

    def signed_bytes(self) -> bytes:
        return checkpoint_message(self.seq, self.head_hash, self.ts_us, self.key_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "head_hash": self.head_hash,
            "ts_us": self.ts_us,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    def to_json_line(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        seq, ts_us = data["seq"], data["ts_us"]
        if not isinstance(seq, int) or not isinstance(ts_us, int) or isinstance(seq, bool):
            raise ValueError("checkpoint seq and ts_us must be integers")
        return cls(
            seq=seq,
            head_hash=str(data["head_hash"]),
            ts_us=ts_us,
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
        )


def checkpoint_message(seq: int, head_hash: str, ts_us: int, key_id: str) -> bytes:
    return _CHECKPOINT_TAG + canonical_json(
        {"seq": seq, "head_hash": head_hash, "ts_us": ts_us, "key_id": key_id}
    )


def bundle_message(manifest_without_signature: dict[str, Any]) -> bytes:
    return _BUNDLE_TAG + canonical_json(manifest_without_signature)


def public_key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_key_fingerprint(public_raw: bytes) -> str:
    """``SHA256:<hex>`` of the raw key; its first 16 hex digits are the key id checkpoints name."""
    return "SHA256:" + hashlib.sha256(public_raw).hexdigest()


_PUBLIC_KEY_LABEL = "ed25519"


def public_key_text(public_raw: bytes) -> str:
    """The public key as a small text file: a comment with its fingerprint, then ``ed25519 <hex>``."""
    return (
        f"# audit log signing key {public_key_id(public_raw)} "
        f"({public_key_fingerprint(public_raw)})\n"
        f"{_PUBLIC_KEY_LABEL} {public_raw.hex()}\n"
    )


def parse_public_key(text: str) -> bytes:
    """The raw 32-byte key from :func:`public_key_text` output, the JSON of ``public-key --json``
    (``{"public_key": "<hex>"}``) or a bare hex line; raises ValueError otherwise."""
    stripped = text.strip()
    if stripped.startswith("{"):
        data = json.loads(stripped)
        candidates = [str(data["public_key"])] if isinstance(data, dict) and "public_key" in data else []
    else:
        candidates = []
        for line in stripped.splitlines():
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if len(words) == 2 and words[0] == _PUBLIC_KEY_LABEL:
                candidates.append(words[1])
            elif len(words) == 1:
                candidates.append(words[0])
            else:
                raise ValueError("not a public key line")
    if len(candidates) != 1:
        raise ValueError("expected exactly one public key")
    raw = bytes.fromhex(candidates[0])
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    Ed25519PublicKey.from_public_bytes(raw)
    return raw


class CheckpointVerifier:
    """Checks signatures made by one Ed25519 public key."""

    def __init__(self, public_raw: bytes) -> None:
        self.public_raw = public_raw
        self.key_id = public_key_id(public_raw)
        self._key = Ed25519PublicKey.from_public_bytes(public_raw)

    def __repr__(self) -> str:
        return f"CheckpointVerifier(key_id={self.key_id!r})"

    def verify(self, message: bytes, signature_hex: str) -> bool:
        try:
            self._key.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def verify_checkpoint(self, checkpoint: Checkpoint) -> bool:
        return checkpoint.key_id == self.key_id and self.verify(
            checkpoint.signed_bytes(), checkpoint.signature
        )


class CheckpointSigner:
    """The log's Ed25519 private key (kept in the key directory, never in the database)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = CheckpointVerifier(public_raw)

    def __repr__(self) -> str:
        return f"CheckpointSigner(key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        return self.verifier.key_id

    @property
    def public_raw(self) -> bytes:
        return self.verifier.public_raw

    @classmethod
    def load(cls, key_dir: Path) -> CheckpointSigner:
        """The existing signing key; raises KeyUnavailable when there is none (never creates one)."""
        path = key_dir / SIGNING_KEY_FILE
        try:
            return cls(Ed25519PrivateKey.from_private_bytes(read_secret(path, 32)))
        except FileNotFoundError:
            raise KeyUnavailable("there is no checkpoint signing key yet") from None
        except (OSError, ValueError):
            raise KeyUnavailable("checkpoint signing key is unreadable") from None

    @classmethod
    def load_or_create(cls, key_dir: Path) -> CheckpointSigner:
        path = ensure_private_dir(key_dir) / SIGNING_KEY_FILE
        if not path.exists():
            from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

            fresh = Ed25519PrivateKey.generate().private_bytes(
                Encoding.Raw, PrivateFormat.Raw, NoEncryption()
            )
            create_private_file(path, fresh)
        try:
            return cls(Ed25519PrivateKey.from_private_bytes(read_secret(path, 32)))
        except ValueError:
            raise KeyUnavailable("checkpoint signing key is unreadable") from None

    def sign(self, message: bytes) -> str:
        return self._private.sign(message).hex()

    def checkpoint(self, seq: int, head_hash: str, ts_us: int) -> Checkpoint:
        signature = self.sign(checkpoint_message(seq, head_hash, ts_us, self.key_id))
        return Checkpoint(seq=seq, head_hash=head_hash, ts_us=ts_us, key_id=self.key_id, signature=signature)
