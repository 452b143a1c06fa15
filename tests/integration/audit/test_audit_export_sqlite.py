"""Export bundles on a real SQLite log: built in memory for the HTTP API, tenant-scoped with opaque
links, carrying the erasure declarations their erased records need, and pinned to the gateway's
public key by ``gateway audit verify-bundle --public-key``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import stat
from pathlib import Path
from typing import Any

from audit_helpers import SUBJECT, db_path, event, raw_execute
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.erasure import ErasureDeclaration
from audit.export import bundle_bytes, verify_bundle, verify_bundle_bytes
from audit.signing import CheckpointSigner, bundle_message, parse_public_key, public_key_text
from audit.store import AuditLog, AuditSettings
from tests.conftest import gateway_cli

OTHER = CheckpointSigner(Ed25519PrivateKey.generate())


def _lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


def _resign(entries: list[dict[str, Any]], signer: CheckpointSigner) -> bytes:
    """The bundle re-assembled and re-signed (an exporter holding ``signer`` made it)."""
    body = b"".join(
        (json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n").encode() for e in entries[:-1]
    )
    manifest = {k: v for k, v in entries[-1].items() if k != "signature"}
    manifest.update(
        body_sha256=hashlib.sha256(body).hexdigest(),
        public_key=signer.public_raw.hex(),
        key_id=signer.key_id,
        records=sum(e["type"] == "record" for e in entries[:-1]),
        links=sum(e["type"] == "link" for e in entries[:-1]),
    )
    manifest["signature"] = signer.sign(bundle_message(manifest))
    return body + (json.dumps(manifest, sort_keys=True, separators=(",", ":")) + "\n").encode()


async def test_bundle_is_built_in_memory_and_no_file_is_written(
    settings: AuditSettings, tmp_path: Path
) -> None:
    log = await AuditLog.open(settings)
    for i in range(7):
        await log.append(event(i, marker="IN-MEMORY"))
    before = sorted(p for p in tmp_path.rglob("*"))
    data, summary = await log.export_bytes(None, None, with_content=True)
    after = sorted(p for p in tmp_path.rglob("*"))
    await log.close()
    assert before == after
    assert (
        summary.path is None and summary.records == 7 and summary.sha256 == hashlib.sha256(data).hexdigest()
    )
    assert b"IN-MEMORY" in data
    report = verify_bundle_bytes(data)
    assert report.ok and report.checked == 7 and not report.origin_checked


async def test_tenant_scoped_bundle_verifies_and_holds_no_other_tenants_header(
    settings: AuditSettings,
) -> None:
    log = await AuditLog.open(settings)
    tenants = ["tenant-alpha", "tenant-beta", None]
    for i in range(12):
        await log.append(
            event(
                i,
                tenant=tenants[i % 3],
                principal=f"principal-{tenants[i % 3]}-{i}",
                request_id=f"request-{tenants[i % 3]}-{i}",
                model=f"model-{tenants[i % 3]}",
                marker=f"content-{tenants[i % 3]}",
            )
        )
    data, summary = await bundle_bytes(log, None, None, with_content=True, caller_tenant="tenant-alpha")
    await log.close()
    entries = _lines(data)
    records = [e["record"] for e in entries if e["type"] == "record"]
    links = [e for e in entries if e["type"] == "link"]
    assert {r["tenant"] for r in records} == {"tenant-alpha"} and len(records) == 4 and len(links) == 8
    assert all(set(link) == {"type", "seq", "prev_hash", "hash"} for link in links)
    text = data.decode()
    for leaked in ("tenant-beta", "principal-None", "request-None", "model-None", "content-None"):
        assert leaked not in text
    assert (summary.records, summary.links, summary.caller_tenant) == (4, 8, "tenant-alpha")
    manifest = entries[-1]
    assert (manifest["scope"], manifest["tenant"]) == ("tenant", "tenant-alpha")
    report = verify_bundle_bytes(data)
    assert report.ok, report.reason
    assert (report.scope, report.tenant, report.checked) == ("tenant", "tenant-alpha", 12)

    # A link is checked too: changing one breaks the chain at the next record.
    index = next(i for i, e in enumerate(entries) if e["type"] == "link")
    entries[index]["hash"] = "0" * 64
    forged = verify_bundle_bytes(_resign(entries, log.signer))
    assert not forged.ok and forged.first_bad_seq == entries[index]["seq"] + 1


async def test_bundle_before_an_erasure_carries_its_signed_declaration(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    receipts = [await log.append(event(i, subject=SUBJECT if i % 2 else None)) for i in range(8)]
    await log.shred_subject(log.subject_ref(SUBJECT))  # erasure record at seq 9, outside the range
    data, summary = await log.export_bytes(None, receipts[5].time)  # seqs 1..5
    await log.close()
    entries = _lines(data)
    erasures = [e for e in entries if e["type"] == "erasure"]
    assert [e["seq"] for e in erasures] == [9] and summary.erasures == 1
    assert (summary.first_seq, summary.last_seq) == (1, 5)
    report = verify_bundle_bytes(data)
    assert report.ok and report.erased == 2 and report.erasure_records == 1

    # Without the declaration, or with one signed by another key, the erased records are tampering.
    dropped = [e for e in entries if e["type"] != "erasure"]
    assert verify_bundle_bytes(_resign(dropped, log.signer)).first_bad_seq == 2
    forged_declaration = ErasureDeclaration.from_dict(erasures[0]["erases"]).signed(
        OTHER, 9, erasures[0]["prev_hash"]
    )
    swapped = [dict(e, erases=forged_declaration.to_dict()) if e["type"] == "erasure" else e for e in entries]
    report = verify_bundle_bytes(_resign(swapped, log.signer))
    assert (report.ok, report.first_bad_seq) == (False, 2)


async def test_tenant_bundle_explains_erasures_made_by_an_unbound_operator(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    for i in range(6):
        await log.append(event(i, subject=SUBJECT if i % 2 else None, tenant="t-a" if i % 2 else "t-b"))
    await log.shred_subject(log.subject_ref(SUBJECT), principal="operator")  # no tenant: a link for t-a
    await log.append(event(7, tenant="t-a"))
    data, _ = await bundle_bytes(log, None, None, caller_tenant="t-a")
    await log.close()
    entries = _lines(data)
    assert [e["seq"] for e in entries if e["type"] == "erasure"] == [7]
    assert any(e["type"] == "link" and e["seq"] == 7 for e in entries)
    assert "operator" not in data.decode()
    report = verify_bundle_bytes(data)
    assert report.ok and report.erased == 3, report.reason


async def test_bundle_of_a_damaged_log_names_the_damaged_seq(settings: AuditSettings, tmp_path: Path) -> None:
    log = await AuditLog.open(settings)
    for i in range(5):
        await log.append(event(i))
    raw_execute(db_path(settings), "UPDATE audit_records SET ts_us = 'abc' WHERE seq = 3")
    out = tmp_path / "damaged.bundle"
    summary = await log.export(None, None, out)
    await log.close()
    assert summary.damaged == 1 and summary.path == out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    report = verify_bundle(out)
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_public_key_text_round_trips_and_junk_is_refused() -> None:
    raw = OTHER.public_raw
    assert parse_public_key(public_key_text(raw)) == raw
    assert parse_public_key(json.dumps({"public_key": raw.hex()})) == raw
    assert parse_public_key(raw.hex() + "\n") == raw
    for junk in ("", "ed25519 abcd", "# only a comment\n", f"{raw.hex()}\n{raw.hex()}\n"):
        try:
            parse_public_key(junk)
        except ValueError:
            continue
        raise AssertionError(f"accepted {junk!r}")


def _gateway_log(data_dir: Path, n: int) -> None:
    """A gateway data directory with ``n`` records, as the gateway itself would leave it."""
    from gateway.services import audit_settings
    from gateway.settings import load_settings

    config = audit_settings(load_settings(environ={}, overrides={"data_dir": str(data_dir)}))

    async def write() -> None:
        log = await AuditLog.open(config)
        for i in range(n):
            await log.append(event(i))
        await log.close()

    asyncio.run(write())


def test_verify_bundle_pins_the_origin_with_the_gateways_public_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _gateway_log(data_dir, 4)
    bundle = tmp_path / "export.bundle"
    exported = gateway_cli("audit", "export", "--out", str(bundle), data_dir=data_dir)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    key_file, printed_key, other_key = tmp_path / "gw.pub", tmp_path / "printed.pub", tmp_path / "other.pub"
    shown = gateway_cli("audit", "public-key", "--json", "--out", str(key_file), data_dir=data_dir)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["algorithm"] == "ed25519" and info["fingerprint"].startswith("SHA256:")
    assert parse_public_key(key_file.read_text()).hex() == info["public_key"]
    printed = gateway_cli("audit", "public-key", data_dir=data_dir)
    assert printed.returncode == 0 and info["key_id"] in printed.stdout
    printed_key.write_text(printed.stdout)
    other_key.write_text(public_key_text(OTHER.public_raw))

    def verify(path: Path, *extra: str) -> Any:
        return gateway_cli("audit", "verify-bundle", str(path), *extra, data_dir=tmp_path / "unused")

    pinned = verify(bundle, "--public-key", str(printed_key))
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert "signed by the given key" in pinned.stdout

    unpinned = verify(bundle)
    assert unpinned.returncode == 0 and "origin not checked" in unpinned.stdout
    assert json.loads(verify(bundle, "--json").stdout)["origin_checked"] is False

    foreign = verify(bundle, "--public-key", str(other_key))
    assert foreign.returncode == 1, foreign.stdout
    assert "not by the given public key" in foreign.stdout and "intact" not in foreign.stdout

    # Re-signed with another key (its checkpoints left out): intact as a file, but not ours.
    resigned = tmp_path / "resigned.bundle"
    entries = [e for e in _lines(bundle.read_bytes()) if e["type"] != "checkpoint"]
    resigned.write_bytes(_resign([*entries[:-1], dict(entries[-1], checkpoints=0)], OTHER))
    assert verify_bundle(resigned).ok
    assert verify(resigned, "--public-key", str(key_file)).returncode == 1


def test_gateway_audit_verify_exits_1_not_2_when_a_value_does_not_decode(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _gateway_log(data_dir, 6)
    database = next(data_dir.rglob("*.db"))
    raw_execute(database, "UPDATE audit_records SET ciphertext = 'text' WHERE seq = 3")
    result = gateway_cli("audit", "verify", "--json", data_dir=data_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads(result.stdout)["first_bad_seq"] == 3
    raw_execute(database, "UPDATE audit_records SET ciphertext = NULL WHERE seq = 3")
    text = gateway_cli("audit", "verify", data_dir=data_dir)
    assert text.returncode == 1 and "TAMPERED at seq 3" in text.stdout
