"""The deployment examples: Kubernetes manifests valid against the Kubernetes schemas (strict:
unknown fields fail), the promises they make (GPU workers reachable only from the gateway, secrets
only by reference), and the systemd units accepted by ``systemd-analyze verify``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
SYSTEMD = ROOT / "deploy" / "systemd"
KUBERNETES_VERSION = "1.30.0"


def manifests() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return docs


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in manifests() if doc["kind"] == kind]


@pytest.mark.parametrize(("name", "doc"), manifests(), ids=[name for name, _ in manifests()])
def test_manifest_is_valid_against_the_kubernetes_schema(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_example_has_every_part() -> None:
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in manifests()}
    for part in [
        ("Deployment", "gateway"),
        ("Service", "gateway"),
        ("ConfigMap", "gateway-config"),
        ("StatefulSet", "sglang-workers"),
        ("Service", "sglang-workers"),
        ("Service", "postgres"),
        ("Service", "redis"),
        ("NetworkPolicy", "sglang-workers-only-from-gateway"),
    ]:
        assert part in kinds


def test_no_secret_values_are_shipped() -> None:
    assert by_kind("Secret") == []
    text = "\n".join(path.read_text() for path in KUBERNETES.glob("*.yaml"))
    assert "password" not in text.lower()


def test_workers_run_on_gpus_with_the_key_from_a_secret() -> None:
    (workers,) = by_kind("StatefulSet")
    (container,) = workers["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] >= 1
    assert "--api-key=$(SGLANG_API_KEY)" in container["args"]
    assert "--enable-metrics" in container["args"]
    (key_env,) = [env for env in container["env"] if env["name"] == "SGLANG_API_KEY"]
    assert key_env["valueFrom"]["secretKeyRef"]["name"] == "sglang-engine-api-key"
    (gateway,) = by_kind("Deployment")
    gateway_env = gateway["spec"]["template"]["spec"]["containers"][0]["env"]
    (engine_key,) = [env for env in gateway_env if env["name"] == "GATEWAY_ENGINE__API_KEY"]
    assert engine_key["valueFrom"]["secretKeyRef"]["name"] == "sglang-engine-api-key"


def test_only_the_gateway_reaches_the_workers_api() -> None:
    (workers,) = by_kind("StatefulSet")
    worker_labels = workers["spec"]["template"]["metadata"]["labels"]
    (gateway,) = by_kind("Deployment")
    gateway_labels = gateway["spec"]["template"]["metadata"]["labels"]
    (policy,) = by_kind("NetworkPolicy")
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"].items() <= worker_labels.items()
    assert "Ingress" in spec["policyTypes"]
    api_rules = [rule for rule in spec["ingress"] if any(p["port"] == 30000 for p in rule.get("ports", []))]
    (api_rule,) = api_rules
    (source,) = api_rule["from"]
    assert source["podSelector"]["matchLabels"].items() <= gateway_labels.items()
    # The other rule lets workers talk to each other (multi-node), nobody else.
    for rule in spec["ingress"]:
        for peer in rule["from"]:
            assert set(peer) == {"podSelector"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart binaries exist: point them at this checkout's gateway command.
    gateway_bin = ROOT / ".venv" / "bin" / "gateway"
    if not gateway_bin.exists():
        pytest.skip("the gateway command is not installed in .venv")
    units = []
    for unit in sorted(SYSTEMD.glob("*.service")):
        text = unit.read_text().replace("/opt/gateway/.venv/bin/gateway", str(gateway_bin))
        units.append(tmp_path / unit.name)
        units[-1].write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        env={"SYSTEMD_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_units_hold_no_secrets_and_keep_the_engine_on_loopback() -> None:
    engine = (SYSTEMD / "sglang-engine.service").read_text()
    gateway = (SYSTEMD / "gateway.service").read_text()
    assert "gateway engine launch" in engine and "--host" not in engine
    assert "ProtectProc=invisible" in engine and "ProtectProc=invisible" in gateway
    assert "LoadCredential=engine-api-key:" in gateway
    for text in (engine, gateway, *(p.read_text() for p in SYSTEMD.glob("*.example"))):
        assert "API_KEY=" not in text.replace('GATEWAY_ENGINE__API_KEY="$(cat', "")
