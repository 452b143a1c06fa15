"""AES-256-GCM for payloads (under data keys) and for wrapping data keys (under KEKs)."""

from __future__ import annotations

import os
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from audit.errors import AuditIntegrityError

KEY_BYTES = 32
NONCE_BYTES = 12


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return os.urandom(KEY_BYTES)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``nonce || ciphertext || tag`` with a fresh random 96-bit nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a :func:`seal` blob; raises AuditIntegrityError when it does not authenticate."""
    if len(blob) < NONCE_BYTES + 16:
        raise AuditIntegrityError("ciphertext too short")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise AuditIntegrityError("ciphertext does not authenticate") from None


def _enc_hook(value: Any) -> Any:
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)


def encode_payload(payload: Any) -> bytes:
    """JSON bytes of a payload (unknown types become strings rather than failing the append)."""
    return _encoder.encode(payload)


def decode_payload(data: bytes) -> Any:
    return msgspec.json.decode(data)
