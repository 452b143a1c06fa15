"""Key ring: key-encryption keys (KEKs) behind one provider interface, the checkpoint signing key,
the subject-reference HMAC key, and a cache of unwrapped data keys (DEKs).

Envelope encryption. Each payload is encrypted with AES-256-GCM under a DEK (one per data subject,
or one per UTC day for records without a subject). DEKs are stored in the database only wrapped by
a KEK, which never enters the database. Erasing a subject deletes its DEK (crypto-shredding).

KeyProvider interface (how a KMS, Vault transit or an HSM plugs in)
-------------------------------------------------------------------
A provider wraps and unwraps 32-byte DEKs; it never sees payloads. Every call carries
``context``: bytes naming the DEK (its key id and scope), which the provider must bind to the
wrapped blob as associated data / encryption context so a wrapped DEK cannot be moved to another
row. Methods are async because real providers call out over the network (loopback or site LAN).

``async current_version() -> int``
    KEK version new wraps use.
``async wrap(dek, context) -> WrappedKey``
    Encrypt a DEK under the current KEK version; returns (version, blob).
``async unwrap(wrapped, context) -> bytes``
    Decrypt; raises :class:`KeyUnavailable` if the version is retired/absent or the blob or
    context does not authenticate.
``async available_versions() -> tuple[int, ...]``
    KEK versions that can still unwrap.
``async create_version() -> int`` / ``async destroy_version(version) -> None``
    Rotation: add a version (it becomes current) / destroy a retired one. Only called by
    :func:`audit.rotation.rotate_kek` and :func:`audit.rotation.retire_kek` after every DEK has been
    re-wrapped. A provider whose keys are rotated in the KMS itself may raise NotImplementedError.

Mapping onto production key stores:

* AWS KMS / GCP KMS / Azure Key Vault: ``wrap`` = ``Encrypt(KeyId, Plaintext=dek,
  EncryptionContext={"audit-dek": context.hex()})``; the version is the provider's key version
  (or an alias per version); ``unwrap`` = ``Decrypt`` with the same context.
* HashiCorp Vault transit: ``POST transit/encrypt/<key>`` with ``plaintext=b64(dek)`` and
  ``context=b64(context)`` (derived key) -> ``vault:v<N>:...`` (N is the version);
  ``unwrap`` = ``transit/decrypt``; ``create_version`` = ``transit/keys/<key>/rotate``;
  ``destroy_version`` = raise ``min_decryption_version`` past it.
* PKCS#11 HSM: one AES-256 key object per version (label ``audit-kek-v<N>``, CKA_EXTRACTABLE
  false); ``wrap``/``unwrap`` = ``C_Encrypt``/``C_Decrypt`` with ``CKM_AES_GCM`` and
  ``pAAD=context``; ``destroy_version`` = ``C_DestroyObject``.

Pass such a provider as ``AuditSettings.key_provider``; the embedded default is
:class:`LocalKeyFileProvider` (``kek-v<N>.key`` files, 0600, in a 0700 directory).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from cachetools import LRUCache

from audit import crypto
from audit.errors import AuditIntegrityError, KeyUnavailable
from audit.files import create_private_file, ensure_private_dir, read_secret_file, write_all

_KEK_NAME = re.compile(r"^kek-v(\d+)\.key$")
SIGNING_KEY_FILE = "checkpoint-signing.ed25519"
SUBJECT_KEY_FILE = "subject-hmac.key"
_SHRED_CHUNK = 1 << 16


@dataclass(frozen=True)
class WrappedKey:
    version: int
    blob: bytes = field(repr=False)


@runtime_checkable
class KeyProvider(Protocol):
    """Holds the key-encryption keys outside the database (see the module docstring)."""

    async def current_version(self) -> int: ...

    async def wrap(self, dek: bytes, context: bytes) -> WrappedKey: ...

    async def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes: ...

    async def available_versions(self) -> tuple[int, ...]: ...

    async def create_version(self) -> int: ...

    async def destroy_version(self, version: int) -> None: ...


def key_ring_file_size(name: str) -> int | None:
    """The size in bytes of the key-ring file called ``name`` (a KEK version, the checkpoint signing
    key or the subject key), or None when ``name`` is not a key-ring file."""
    if _KEK_NAME.match(name) or name in (SIGNING_KEY_FILE, SUBJECT_KEY_FILE):
        return 32
    return None


def kek_version_of(name: str) -> int | None:
    """The KEK version a ``kek-v<N>.key`` file holds, or None for any other name."""
    match = _KEK_NAME.match(name)
    return int(match.group(1)) if match else None


def shred_file(path: Path) -> None:
    """Overwrite the regular file ``path`` with random bytes, then unlink it.

    Best effort: copy-on-write file systems, journals, snapshots and SSD wear levelling may keep
    the old blocks, so full-disk encryption is what really protects deleted keys. A symbolic link is
    unlinked, never followed.
    """
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        fd = -1
    if fd >= 0:
        try:
            remaining = os.fstat(fd).st_size
            while remaining > 0:
                chunk = min(remaining, _SHRED_CHUNK)
                write_all(fd, os.urandom(chunk))
                remaining -= chunk
            os.fsync(fd)
        except OSError:
            pass  # the unlink below still removes the name
        finally:
            os.close(fd)
    path.unlink(missing_ok=True)


def read_secret(path: Path, size: int) -> bytes:
    """The key in ``path``; KeyUnavailable (naming only the file) if it has the wrong length."""
    try:
        return read_secret_file(path, size)
    except RuntimeError:
        raise KeyUnavailable(f"key file {path.name} has the wrong length") from None


class LocalKeyFileProvider:
    """KEK versions as ``kek-v<N>.key`` files (32 random bytes, 0600) in a private directory.

    The highest version present is current. The directory is re-read when a version is missing
    or before wrapping, so a rotation done by another process (``gateway keyring rotate``) is seen
    without a restart.
    """

    def __init__(self, key_dir: Path) -> None:
        self._dir = ensure_private_dir(key_dir)
        self._keys: dict[int, bytes] = {}
        self._scan()
        if not self._keys:
            create_private_file(self._path(1), crypto.new_key())
            self._scan()

    def __repr__(self) -> str:
        return f"LocalKeyFileProvider(versions={sorted(self._keys)})"

    def _path(self, version: int) -> Path:
        return self._dir / f"kek-v{version}.key"

    def _scan(self) -> None:
        found: dict[int, bytes] = {}
        for entry in os.listdir(self._dir):
            match = _KEK_NAME.match(entry)
            if match:
                version = int(match.group(1))
                found[version] = self._keys.get(version) or read_secret(self._dir / entry, crypto.KEY_BYTES)
        self._keys = found

    async def current_version(self) -> int:
        self._scan()
        if not self._keys:
            raise KeyUnavailable("no KEK version available")
        return max(self._keys)

    async def available_versions(self) -> tuple[int, ...]:
        self._scan()
        return tuple(sorted(self._keys))

    async def wrap(self, dek: bytes, context: bytes) -> WrappedKey:
        version = await self.current_version()
        return WrappedKey(version, crypto.seal(self._keys[version], dek, context))

    async def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes:
        key = self._keys.get(wrapped.version)
        if key is None:
            self._scan()
            key = self._keys.get(wrapped.version)
        if key is None:
            raise KeyUnavailable(f"KEK version {wrapped.version} is not available")
        try:
            return crypto.open_sealed(key, wrapped.blob, context)
        except AuditIntegrityError:
            raise KeyUnavailable(
                f"wrapped data key does not authenticate under KEK v{wrapped.version}"
            ) from None

    async def create_version(self) -> int:
        self._scan()
        version = max(self._keys, default=0) + 1
        while not create_private_file(self._path(version), crypto.new_key()):
            version += 1
        self._scan()
        return version

    async def destroy_version(self, version: int) -> None:
        self._scan()
        if version == max(self._keys, default=0):
            raise KeyUnavailable("the current KEK version cannot be destroyed")
        shred_file(self._path(version))
        self._keys.pop(version, None)


class SubjectHasher:
    """``subject_ref = HMAC-SHA256(subject key, subject id)``, hex. The raw id is never stored."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "SubjectHasher()"

    def ref(self, subject_id: str) -> str:
        return hmac.new(self._key, subject_id.encode(), hashlib.sha256).hexdigest()


def dek_context(key_id: str, scope: str) -> bytes:
    """What a wrapped DEK is bound to (associated data of the wrap)."""
    return f"audit-dek-v1|{key_id}|{scope}".encode()


class DekCache:
    """Bounded LRU of unwrapped data keys by key id (used from the event loop only)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._items: LRUCache[str, bytes] = LRUCache(maxsize=max(1, max_entries))

    def __repr__(self) -> str:
        return f"DekCache(entries={len(self._items)})"

    def get(self, key_id: str) -> bytes | None:
        """The data key, or None; a hit becomes the most recently used entry."""
        return self._items.get(key_id)

    def put(self, key_id: str, dek: bytes) -> None:
        """Keep ``dek``, evicting the least recently used keys beyond the bound."""
        self._items[key_id] = dek

    def discard(self, key_id: str) -> None:
        """Forget ``key_id`` (its data key was deleted)."""
        self._items.pop(key_id, None)
