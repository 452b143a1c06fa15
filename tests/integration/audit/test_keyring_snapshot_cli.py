"""``gateway keyring snapshot|snapshots|prune|restore`` as an operator runs them on a SQLite data dir:
private files, expiry from the setting, audit records without key bytes."""

from __future__ import annotations

import base64
import json
import stat
from datetime import datetime, timedelta
from pathlib import Path

from audit.keyring_snapshots import SNAPSHOT_KEY_FILE, load_snapshot_key, take_snapshot
from audit.reader import RecordFilter
from audit.records import AuditEvent
from audit.store import AuditLog
from gateway.services import audit_settings
from gateway.settings import load_settings
from tests.conftest import gateway_cli


def key_shapes(*dirs: Path) -> list[str]:
    shapes: list[str] = []
    for directory in dirs:
        for path in directory.iterdir():
            if path.is_file():
                data = path.read_bytes()
                shapes += [
                    data.hex(),
                    base64.b64encode(data).decode()[:40],
                    base64.urlsafe_b64encode(data).decode()[:40],
                ]
    return shapes


async def test_snapshot_list_prune_restore_are_private_audited_and_leak_no_key(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = {"GATEWAY_AUDIT__KEYRING_SNAPSHOT_MAX_AGE_DAYS": "10"}
    settings = load_settings(None, environ=env, overrides={"data_dir": str(data)})
    config = audit_settings(settings)
    log = await AuditLog.open(config)
    await log.append(AuditEvent(kind="chat.request", subject_id="subject-A", payload={"text": "zq-cli"}))
    await log.close()
    outputs: list[str] = []

    taken = gateway_cli("keyring", "snapshot", "--json", data_dir=data, env=env)
    outputs += [taken.stdout, taken.stderr]
    assert taken.returncode == 0, taken.stderr
    fresh = json.loads(taken.stdout)
    root = data / "keyring-snapshots"
    assert Path(fresh["path"]).parent == root and fresh["kek_versions"] == [1]
    created = datetime.fromisoformat(fresh["created_at"])
    assert datetime.fromisoformat(fresh["expires_at"]) - created == timedelta(days=10)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(fresh["path"]).stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in Path(fresh["path"]).iterdir())
    assert stat.S_IMODE((settings.key_dir / SNAPSHOT_KEY_FILE).stat().st_mode) == 0o600

    # One taken eleven days before the fresh one: past the configured ten days.
    snapshot_key = load_snapshot_key(settings.key_dir / SNAPSHOT_KEY_FILE, create=False)
    old = take_snapshot(
        config.key_dir, root, snapshot_key, now=created - timedelta(days=11), max_age=timedelta(days=30)
    )
    listed = gateway_cli("keyring", "snapshots", "--json", data_dir=data, env=env)
    outputs += [listed.stdout, listed.stderr]
    rows = {row["snapshot_id"]: row for row in json.loads(listed.stdout)["snapshots"]}
    assert rows[old.snapshot_id]["expired"] and not rows[fresh["snapshot_id"]]["expired"]
    assert rows[old.snapshot_id]["age_days"] >= 11

    pruned = gateway_cli("keyring", "prune", "--json", data_dir=data, env=env)
    outputs += [pruned.stdout, pruned.stderr]
    assert pruned.returncode == 0 and json.loads(pruned.stdout)["deleted"] == [old.snapshot_id]
    assert sorted(p.name for p in root.iterdir()) == [fresh["snapshot_id"]]

    refused = gateway_cli("keyring", "restore", fresh["snapshot_id"], data_dir=data, env=env)
    outputs += [refused.stdout, refused.stderr]
    assert refused.returncode == 1 and "--force" in refused.stderr
    restored = gateway_cli(
        "keyring", "restore", fresh["snapshot_id"], "--force", "--json", data_dir=data, env=env
    )
    outputs += [restored.stdout, restored.stderr]
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["kek_versions"] == [1]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in config.key_dir.iterdir())
    assert gateway_cli("audit", "verify", data_dir=data, env=env).returncode == 0

    log = await AuditLog.open(config)
    try:
        kinds = ("admin.keyring.snapshot", "admin.keyring.prune", "admin.keyring.restore")
        records = {kind: (await log.query(RecordFilter(kind=kind))).items for kind in kinds}
        assert [len(records[k]) for k in kinds] == [1, 2, 1]  # the snapshot prunes too
        payloads = [
            json.dumps((await log.get(h.seq, with_content=True)).content)  # type: ignore[union-attr]
            for kind in kinds
            for h in records[kind]
        ]
    finally:
        await log.close()
    assert fresh["snapshot_id"] in payloads[0] and old.snapshot_id in payloads[2]
    text = "\n".join(payloads + outputs)
    assert not [shape for shape in key_shapes(config.key_dir, settings.key_dir) if shape in text]
