"""LiteLLM proxy for the side-by-side benchmark: its own pinned virtual environment, config, process.

LiteLLM never goes into the project's ``.venv``: it lives in ``var/bench/litellm-venv`` (by default),
installed from the package index with the exact versions in ``bench/litellm-constraints.txt``.
The proxy runs with no guardrails, no callbacks, no database, one worker, and with everything that
would reach the network at start or per request (telemetry, the remote model cost map) turned off.
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
from pathlib import Path

from bench.servers import MODEL, Server, free_port, spawn

LITELLM_VERSION = "1.106.12"
REQUIREMENT = f"litellm[proxy]=={LITELLM_VERSION}"
CONSTRAINTS = Path(__file__).resolve().parent / "litellm-constraints.txt"
_STAMP = ".bench-installed"

# Read by LiteLLM at import and start: no cost-map download, no telemetry, no UI, quiet logs.
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
    "DISABLE_ADMIN_UI": "True",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    # The proxy must not go through a proxy to reach 127.0.0.1.
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


def _install_fingerprint() -> str:
    constraints = CONSTRAINTS.read_bytes() if CONSTRAINTS.exists() else b""
    return hashlib.sha256(REQUIREMENT.encode() + b"\n" + constraints).hexdigest()


def ensure_installed(venv: Path) -> Path:
    """Create ``venv`` and install the pinned LiteLLM into it unless that exact install is there.

    Returns the path of the ``litellm`` command. Installs again when the pin or the constraints
    file changes; a failed install leaves no stamp, so the next run tries again.
    """
    executable = venv / "bin" / "litellm"
    stamp = venv / _STAMP
    fingerprint = _install_fingerprint()
    if executable.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint:
        return executable
    print(f"bench: installing {REQUIREMENT} into {venv} (once; takes a few minutes)", flush=True)
    stamp.unlink(missing_ok=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    command = [*pip, REQUIREMENT]
    if CONSTRAINTS.exists():
        command += ["-c", str(CONSTRAINTS)]
    subprocess.run(command, check=True)
    stamp.write_text(fingerprint + "\n")
    return executable


def write_config(directory: Path, upstream_url: str, master_key: str) -> Path:
    """A proxy config with one model routed to the upstream and nothing else switched on."""
    config = directory / "litellm_config.yaml"
    # JSON is YAML: written with json-style quoting so no value needs escaping rules of its own.
    config.write_text(
        "model_list:\n"
        f'  - model_name: "{MODEL}"\n'
        "    litellm_params:\n"
        f'      model: "openai/{MODEL}"\n'
        f'      api_base: "{upstream_url}/v1"\n'
        '      api_key: "bench-upstream"\n'
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  callbacks: []\n"
        "  success_callback: []\n"
        "  failure_callback: []\n"
        "  turn_off_message_logging: true\n"
        "  set_verbose: false\n"
        "general_settings:\n"
        f'  master_key: "{master_key}"\n'
        "  disable_spend_logs: true\n"
        "  disable_error_logs: true\n"
    )
    return config


def start_litellm(executable: Path, work: Path, upstream_url: str) -> Server:
    """Start the LiteLLM proxy (one worker) in front of the upstream; headers carry its master key."""
    port = free_port()
    master_key = "sk-bench-" + secrets.token_urlsafe(16)
    config = write_config(work, upstream_url, master_key)
    command = [
        str(executable),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
        "--telemetry",
        "False",
    ]
    server = spawn("litellm", command, work / "litellm.log", port, OFFLINE_ENV)
    server.headers = {"Authorization": f"Bearer {master_key}"}
    return server


def installed_version(venv: Path) -> str:
    """The LiteLLM version the venv really holds (from its metadata, not from the pin)."""
    result = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"
