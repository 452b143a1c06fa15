"""Data-subject requests end to end: the openai SDK -> gateway process -> simulator process, then
the DPO's HTTP routes and the operator's CLI against the same gateway (issue 21).

Three subjects chat through the gateway. The export of one holds exactly its records, decrypted,
pseudonyms restored; after its erasure its export is empty, the other two still export,
``gateway audit verify`` passes, and a byte scan of the database file, its WAL and the key ring
finds neither its content nor its data key (plain or wrapped).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from audit.keyring import LocalKeyFileProvider, WrappedKey, dek_context
from audit.signing import parse_public_key
from audit.subject_export import read_export_zip, verify_export
from tests.conftest import (
    MODEL,
    Gateway,
    Simulator,
    gateway_cli,
    start_gateway,
    start_simulator,
    stop,
    store_create_keys,
)

pytestmark = pytest.mark.e2e

# Synthetic subjects: id -> (email, a note marker no recognizer takes for personal data).
SUBJECTS = {
    "subj-e2e-zq7-alpha": ("alpha.zq7mail@example.org", "zq7note-alpha-kestrel"),
    "subj-e2e-zq7-bravo": ("bravo.zq7mail@example.org", "zq7note-bravo-heron"),
    "subj-e2e-zq7-charlie": ("charlie.zq7mail@example.org", "zq7note-charlie-plover"),
}
ERASED = "subj-e2e-zq7-alpha"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = start_simulator()  # echo mode: the answer repeats the (pseudonymized) prompt
    yield simulator
    stop(simulator.proc)


@pytest.fixture(scope="module")
def gw(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("dsr-e2e"), sim.url)
    made = store_create_keys(
        gateway.data_dir, {"clinician": {"roles": ["clinician"]}, "dpo": {"roles": ["dpo"]}}
    )
    gateway.keys = {label: str(info["key"]) for label, info in made.items()}
    yield gateway
    stop(gateway.proc)


def _dpo(gw: Gateway, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {gw.keys['dpo']}", **kwargs.pop("headers", {})}
    return httpx.request(method, gw.url + path, headers=headers, timeout=60, trust_env=False, **kwargs)


def _chat(client: openai.OpenAI, subject: str, *, stream: bool) -> tuple[str, str]:
    """One chat about ``subject``; returns (the gateway's request id, the answer text)."""
    email, note = SUBJECTS[subject]
    messages = [{"role": "user", "content": f"Please write to {email} about {note} today."}]
    headers = {"X-Data-Subject": subject}
    if stream:
        with client.chat.completions.with_streaming_response.create(
            model=MODEL,
            messages=messages,
            stream=True,
            extra_headers=headers,  # type: ignore[arg-type]
        ) as response:
            text = "".join(
                (chunk.choices[0].delta.content or "") if chunk.choices else "" for chunk in response.parse()
            )
            return response.headers["x-request-id"], text
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=messages,
        extra_headers=headers,  # type: ignore[arg-type]
    )
    return raw.headers["x-request-id"], raw.parse().choices[0].message.content or ""


def _data_key(db: Path, key_dir: Path, subject_ref: str) -> tuple[str, bytes, bytes]:
    """(key id, wrapped key, plain key) of the subject's data key, read as someone with the files."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        key_id, version, wrapped = conn.execute(
            "SELECT key_id, kek_version, wrapped FROM audit_deks WHERE scope = ?", (f"s:{subject_ref}",)
        ).fetchone()
    finally:
        conn.close()
    scope = f"s:{subject_ref}"
    plain = asyncio.run(
        LocalKeyFileProvider(key_dir).unwrap(
            WrappedKey(int(version), bytes(wrapped)), dek_context(key_id, scope)
        )
    )
    return str(key_id), bytes(wrapped), plain


def test_export_then_erase_one_of_three_subjects(gw: Gateway) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.keys["clinician"], max_retries=0, timeout=30)
    request_ids: dict[str, set[str]] = {subject: set() for subject in SUBJECTS}
    for subject in SUBJECTS:
        rid, answer = _chat(client, subject, stream=False)
        request_ids[subject].add(rid)
        assert SUBJECTS[subject][0] in answer  # the clinician sees the original (pii:unmask)
    rid, _ = _chat(client, ERASED, stream=True)
    request_ids[ERASED].add(rid)

    # Export: exactly the subject's records, decrypted, pseudonyms restored.
    exported = _dpo(gw, "GET", f"/dsr/subjects/{ERASED}/export")
    assert exported.status_code == 200, exported.text
    body = exported.json()
    records = body["records"]
    assert len(records) == 4 and {r["request_id"] for r in records} == request_ids[ERASED]
    assert {r["kind"] for r in records} == {"chat.request", "chat.response"}
    email, note = SUBJECTS[ERASED]
    for record in records:
        text = json.dumps(record["content"], ensure_ascii=False)
        assert note in text
        if record["kind"] == "chat.response":
            assert email in text and "[EMAIL_ADDRESS_" not in text  # restored
    for other in SUBJECTS.keys() - {ERASED}:
        assert SUBJECTS[other][0] not in exported.text and SUBJECTS[other][1] not in exported.text
    subject_ref = body["subject_ref"]

    # The zip is signed by the gateway's key, as `gateway audit public-key` gives it.
    public = gateway_cli("audit", "public-key", data_dir=gw.data_dir)
    assert public.returncode == 0, public.stderr
    archive = _dpo(gw, "GET", f"/dsr/subjects/{ERASED}/export", params={"format": "zip"})
    files = read_export_zip(archive.content)
    assert verify_export(files, public_key=parse_public_key(public.stdout)).origin_checked

    db = gw.data_dir / "gateway.db"
    key_id, wrapped, plain = _data_key(db, gw.data_dir / "keys" / "audit", subject_ref)

    # Erasure: a signed receipt naming the destroyed key, never the subject id.
    erased = _dpo(gw, "DELETE", f"/dsr/subjects/{ERASED}")
    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["records_erased"] == 4 and receipt["key_ids"] == [key_id]
    assert ERASED not in erased.text and receipt["signature"]

    assert _dpo(gw, "GET", f"/dsr/subjects/{ERASED}/export").json()["records"] == []
    for other in SUBJECTS.keys() - {ERASED}:
        still = _dpo(gw, "GET", f"/dsr/subjects/{other}/export").json()["records"]
        assert len(still) == 2 and SUBJECTS[other][1] in json.dumps(still)

    verify = gateway_cli("audit", "verify", data_dir=gw.data_dir)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    stored = b"".join(
        path.read_bytes() for path in (db, db.with_name(db.name + "-wal")) if path.exists()
    ) + b"".join(path.read_bytes() for path in (gw.data_dir / "keys").rglob("*") if path.is_file())
    for label, needle in {
        "email": email.encode(),
        "note": note.encode(),
        "subject id": ERASED.encode(),
        "plain data key": plain,
        "wrapped data key": wrapped,
    }.items():
        assert needle not in stored, f"the erased subject's {label} is still in the stored files"
    assert ERASED not in gw.log_text() and email not in gw.log_text()
