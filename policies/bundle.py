"""Loading the policy documents (roles, PII, output, retention) as one immutable, digested bundle.

Each document is read from the shipped defaults directory and, when a site directory is
configured and has a file of the same name, the site file is overlaid on the default:

* mappings merge key by key, at every depth;
* lists and scalars in the site file replace the default value whole;
* a key whose site value is ``null`` is removed.

The merged documents are validated by their parsers; any problem raises
:class:`PolicyDocumentError` and nothing is replaced. :class:`PolicyHolder` keeps the bundle
in use and swaps it only for a bundle that loaded completely.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from policies.errors import PolicyDocumentError
from policies.rbac import RBACPolicy, parse_rbac_policy
from policies.retention import RetentionPolicy, parse_retention_policy

if TYPE_CHECKING:  # the PII package loads the NER stack; import it only when a bundle is loaded
    from policies.output.config import OutputPolicy
    from policies.pii.config import PIIPolicy

DEFAULT_POLICY_DIR = Path(__file__).resolve().parent / "defaults"

#: Top-level key of each document -> its file name.
DOCUMENT_FILES: Mapping[str, str] = {
    "roles": "roles.yaml",
    "pii": "pii.yaml",
    "output": "output.yaml",
    "retention": "retention.yaml",
}


def _parse_pii(doc: Mapping[str, Any], source: str) -> PIIPolicy:
    from policies.pii.config import parse_pii_policy

    return parse_pii_policy(doc, source)


def _parse_output(doc: Mapping[str, Any], source: str) -> OutputPolicy:
    from policies.output.config import parse_output_policy

    return parse_output_policy(doc, source)


_PARSERS: Mapping[str, Callable[[Mapping[str, Any], str], Any]] = {
    "roles": parse_rbac_policy,
    "pii": _parse_pii,
    "output": _parse_output,
    "retention": parse_retention_policy,
}

#: Documents that may be absent from both directories: they are parsed as empty (retention: keep
#: everything, which removes nothing).
OPTIONAL_DOCUMENTS = frozenset({"retention"})


@dataclass(frozen=True)
class PolicyBundle:
    """The policies in force. ``digest`` (sha256 hex) identifies exactly the files loaded
    (their names and bytes) and is what audit records cite; ``sources`` lists them."""

    rbac: RBACPolicy
    pii: PIIPolicy
    output: OutputPolicy
    digest: str
    sources: tuple[str, ...]
    retention: RetentionPolicy


def overlay(base: Mapping[str, Any], site: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay ``site`` on ``base`` (the merge rule described in the module docstring)."""
    merged: dict[str, Any] = dict(base)
    for key, value in site.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_document(path: Path) -> tuple[dict[str, Any], bytes]:
    """Read and YAML-decode one policy file; return the mapping and the raw bytes."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyDocumentError(source, "<file>", f"cannot read ({type(exc).__name__})") from exc
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        # Position only: the problem text of a YAML error may quote the document.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise PolicyDocumentError(source, "<yaml>", f"invalid YAML{where}") from exc
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise PolicyDocumentError(source, "<document>", "must be a mapping")
    return doc, raw


def _parse(kind: str, doc: Mapping[str, Any], source: str) -> Any:
    try:
        return _PARSERS[kind](doc, source)
    except PolicyDocumentError:
        raise
    except Exception as exc:  # a parser bug must not take down a running gateway's policy
        raise PolicyDocumentError(source, "<document>", f"parser failed ({type(exc).__name__})") from exc


def _load_document(
    kind: str, default_dir: Path, site_dir: Path | None
) -> tuple[Any, list[tuple[str, bytes]]]:
    name = DOCUMENT_FILES[kind]
    default_path = default_dir / name
    site_path = site_dir / name if site_dir is not None else None
    loaded: list[tuple[str, bytes]] = []
    doc: dict[str, Any] = {}
    sources: list[str] = []
    if default_path.is_file():
        doc, raw = read_document(default_path)
        loaded.append((f"default/{name}", raw))
        sources.append(str(default_path))
    if site_path is not None and site_path.is_file():
        site_doc, raw = read_document(site_path)
        doc = overlay(doc, site_doc)
        loaded.append((f"site/{name}", raw))
        sources.append(str(site_path))
    if not loaded:
        if kind in OPTIONAL_DOCUMENTS:
            return _parse(kind, {}, str(default_dir / name)), loaded
        raise PolicyDocumentError(str(default_dir), name, "missing policy document")
    return _parse(kind, doc, " + ".join(sources)), loaded


def load_policy_bundle(default_dir: Path, site_dir: Path | None = None) -> PolicyBundle:
    """Load, overlay and validate roles.yaml, pii.yaml, output.yaml and retention.yaml.

    Raises :class:`PolicyDocumentError` (source, dotted key, reason) for the first problem,
    including a missing document or a role whose PII profile the PII policy does not define.
    """
    if site_dir is not None and not site_dir.is_dir():
        raise PolicyDocumentError(str(site_dir), "<directory>", "site policy directory does not exist")
    parsed: dict[str, Any] = {}
    files: list[tuple[str, bytes]] = []
    for kind in DOCUMENT_FILES:
        parsed[kind], loaded = _load_document(kind, default_dir, site_dir)
        files.extend(loaded)
    rbac: RBACPolicy = parsed["roles"]
    _check_pii_profiles(rbac, parsed["pii"])
    return PolicyBundle(
        rbac=rbac,
        pii=parsed["pii"],
        output=parsed["output"],
        digest=_digest(files),
        sources=tuple(label for label, _ in files),
        retention=parsed["retention"],
    )


def _check_pii_profiles(rbac: RBACPolicy, pii: Any) -> None:
    # A role naming a profile that does not exist would otherwise fail on its first request
    # instead of at load time. (Only when the PII policy exposes its profile names.)
    profiles = getattr(pii, "profiles", None)
    if not isinstance(profiles, Mapping):
        return
    for role in rbac.roles.values():
        if role.pii_profile not in profiles:
            raise PolicyDocumentError(
                "roles.yaml", f"roles.{role.name}.pii_profile", "names an undefined profile"
            )


def _digest(files: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for label, raw in files:
        h.update(label.encode())
        h.update(b"\0")
        h.update(len(raw).to_bytes(8, "big"))
        h.update(raw)
    return h.hexdigest()


def check_policy_file(path: Path, default_dir: Path | None = DEFAULT_POLICY_DIR) -> list[str]:
    """Validate one policy file for ``gateway policy check FILE``; return error lines (empty = ok).

    The parser is chosen by the document's top-level key (``roles``, ``pii``, ``output`` or
    ``retention``).
    With ``default_dir`` (the shipped defaults unless ``None``), the file is checked as a site
    overlay would be loaded: merged over the default document of the same kind.
    """
    try:
        doc, _ = read_document(path)
    except PolicyDocumentError as exc:
        return [str(exc)]
    kinds = [kind for kind in DOCUMENT_FILES if kind in doc]
    if len(kinds) != 1:
        return [
            f"{path}: <document>: expected exactly one top-level key of "
            f"{', '.join(DOCUMENT_FILES)}, found {', '.join(kinds) or 'none'}"
        ]
    kind = kinds[0]
    source = str(path)
    if default_dir is not None and (default_dir / DOCUMENT_FILES[kind]).is_file():
        try:
            base, _ = read_document(default_dir / DOCUMENT_FILES[kind])
        except PolicyDocumentError as exc:
            return [str(exc)]
        doc = overlay(base, doc)
    try:
        _parse(kind, doc, source)
    except PolicyDocumentError as exc:
        return [str(exc)]
    except ImportError:
        return [f"{source}: <document>: no parser available for '{kind}' documents"]
    return []


class PolicyHolder:
    """Holds the bundle in force; :meth:`reload` swaps it only for one that loaded completely.

    Readers take ``holder.current`` once per request and use that bundle throughout, so a
    reload never mixes old and new policies within one request.
    """

    def __init__(self, default_dir: Path, site_dir: Path | None = None) -> None:
        self._default_dir = default_dir
        self._site_dir = site_dir
        self._lock = threading.Lock()
        self._current = load_policy_bundle(default_dir, site_dir)
        self._previous: PolicyBundle | None = None

    @property
    def current(self) -> PolicyBundle:
        """The bundle in force."""
        return self._current

    @property
    def previous(self) -> PolicyBundle | None:
        """The bundle replaced by the last successful reload (``None`` before any)."""
        return self._previous

    def reload(self) -> PolicyBundle:
        """Load the documents again and make them current.

        On any error the current bundle stays in force and the :class:`PolicyDocumentError`
        is raised to the caller (who reports it; ``policy:reload`` is audited by the gateway).
        """
        with self._lock:
            bundle = load_policy_bundle(self._default_dir, self._site_dir)
            self._previous, self._current = self._current, bundle
            return bundle
