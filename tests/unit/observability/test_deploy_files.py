"""deploy/grafana and deploy/prometheus: the dashboard and the alert rules load, are valid PromQL
(promtool, when installed), fire when they should (promtool's rule tests), and name only metrics
the gateway's registry exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.observability.metrics import METRIC_NAMES, GatewayMetrics

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "gateway-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
PROMTOOL = shutil.which("promtool")
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$instance": ".*", "$route": ".*", "$model": ".*"}
_METRIC = re.compile(r"\b(gateway_[a-z_]+)\b")


def _series_names() -> set[str]:
    """Every series name the registry exports (histograms with _bucket/_sum/_count)."""
    names: set[str] = set()
    metrics = GatewayMetrics()
    metrics.watch_engine_pool(workers=lambda: {"healthy": 1}, queue_depth=lambda: 0)
    for family in metrics.registry.collect():
        names.add(family.name if family.type != "counter" else f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
    assert METRIC_NAMES <= names
    return names


def _dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return document


def _dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in _dashboard()["panels"] for target in panel["targets"]]


def _alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_dashboard_is_a_grafana_dashboard() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "stat"}
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["targets"] and all(target["expr"] and target["refId"] for target in panel["targets"])
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "instance", "route", "model"}


def test_dashboard_names_only_exported_metrics_and_covers_them() -> None:
    exported = _series_names()
    used = {name for expr in _dashboard_exprs() for name in _METRIC.findall(expr)}
    assert used <= exported, used - exported
    # Every family the gateway exports has a panel (build info is the instance selector's source).
    families = {name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count") for name in used}
    queried = {
        q["query"]["query"]
        for q in _dashboard()["templating"]["list"]
        if "query" in q and isinstance(q["query"], dict)
    }
    families |= {name for query in queried for name in _METRIC.findall(query)}
    assert METRIC_NAMES <= families, METRIC_NAMES - families


def test_alert_rules_have_the_required_fields_and_known_metrics() -> None:
    exported = _series_names()
    rules = _alert_rules()
    assert {rule["alert"] for rule in rules} >= {
        "GatewayAuditStoreFailing",
        "GatewayNoHealthyEngineWorker",
        "GatewayHighErrorRate",
        "GatewayHighOverheadP99",
        "GatewayHighTimeToFirstTokenP99",
        "GatewayPIIDetectionTimeouts",
    }
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]
        names = set(_METRIC.findall(rule["expr"]))
        assert names <= exported, (rule["alert"], names - exported)
        assert names or rule["expr"].startswith("up{"), rule["alert"]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    assert PROMTOOL is not None
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", str(ALERT_TESTS)], capture_output=True, text=True, timeout=120
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    rules = []
    for index, expr in enumerate(_dashboard_exprs()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:panel_{index}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
