"""``gateway dsr ...`` and ``gateway retention run`` as an operator runs them, on a SQLite data dir."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from audit.records import AuditEvent
from audit.store import AuditLog
from gateway.services import audit_settings
from gateway.settings import load_settings
from tests.conftest import gateway_cli


async def seed(data_dir: Path) -> None:
    settings = load_settings(None, overrides={"data_dir": str(data_dir)})
    log = await AuditLog.open(audit_settings(settings))
    try:
        for n, subject in enumerate(("subject-A", "subject-B", None)):
            await log.append(
                AuditEvent(
                    kind="chat.request",
                    request_id=f"r{n}",
                    subject_id=subject,
                    payload={"request": {"content": f"hello from Ida Brandt {n}"}},
                )
            )
    finally:
        await log.close()


async def test_dsr_commands_export_find_hold_erase_and_retention(tmp_path: Path) -> None:
    data = tmp_path / "var"
    await seed(data)
    out = tmp_path / "a.zip"
    done = gateway_cli("dsr", "export", "subject-A", "--out", str(out), data_dir=data)
    assert done.returncode == 0, done.stderr
    assert json.loads(zipfile.ZipFile(out).read("records.json"))["records"][0]["seq"] == 1
    key = tmp_path / "key.pub"
    assert gateway_cli("audit", "public-key", "--out", str(key), data_dir=data).returncode == 0
    check = gateway_cli("dsr", "verify-export", str(out), "--public-key", str(key), data_dir=data)
    assert check.returncode == 0 and "signed by the given key" in check.stdout

    found = gateway_cli("dsr", "find", "--value", "IDA brandt", "--json", data_dir=data)
    assert found.returncode == 0 and json.loads(found.stdout)["seqs"] == [1, 2, 3]
    assert "scanned" in found.stderr and "Ida" not in found.stderr

    hold = gateway_cli("dsr", "hold", "create", "--subject", "subject-A", "--json", data_dir=data)
    hold_id = json.loads(hold.stdout)["hold_id"]
    refused = gateway_cli("dsr", "erase", "subject-A", "--json", data_dir=data)
    assert refused.returncode == 1 and json.loads(refused.stdout)["hold_id"] == hold_id
    assert gateway_cli("dsr", "hold", "create", data_dir=data).returncode == 2  # a hold on nothing
    assert gateway_cli("dsr", "hold", "release", hold_id, data_dir=data).returncode == 0
    erased = gateway_cli("dsr", "erase", "subject-A", "--json", data_dir=data)
    assert erased.returncode == 0 and json.loads(erased.stdout)["records_erased"] == 1
    cleared = gateway_cli("dsr", "erase", "--records", "3", "--json", data_dir=data)
    assert cleared.returncode == 0 and json.loads(cleared.stdout)["seqs"] == [[3, 3]]

    dry = gateway_cli("retention", "run", "--dry-run", "--json", data_dir=data)
    assert dry.returncode == 0 and json.loads(dry.stdout)["dry_run"] is True
    assert "scan" in dry.stderr
    assert gateway_cli("audit", "verify", data_dir=data).returncode == 0
