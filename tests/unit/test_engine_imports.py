"""What importing the engine package costs: the client never loads the simulator, and the
simulator's command-line helpers never load the web framework until an app is built."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import engine.sim_script
import engine.simulator
import engine.simulator.script


def loaded_modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(result.stdout.split())


def test_engine_client_does_not_import_the_simulator() -> None:
    loaded = loaded_modules_after("import engine.client, engine.models, engine.errors")
    assert "engine.client" in loaded
    assert not {m for m in loaded if m.startswith(("engine.simulator", "engine.sim_script"))}


def test_simulator_flags_do_not_import_the_web_framework() -> None:
    # Every `gateway` command builds its parser with add_sim_arguments.
    loaded = loaded_modules_after(
        "from engine.simulator import PARENT_PID_ENV, add_sim_arguments, config_from_args"
    )
    assert "engine.simulator.cli" in loaded
    assert "litestar" not in loaded
    assert "uvicorn" not in loaded


def test_building_the_app_loads_the_web_framework_but_not_the_server() -> None:
    loaded = loaded_modules_after(
        "from engine.simulator import SimConfig, create_sim_app\ncreate_sim_app(SimConfig())"
    )
    assert "litestar" in loaded
    assert "uvicorn" not in loaded


@pytest.mark.parametrize("name", engine.simulator.__all__)
def test_every_exported_name_is_the_object_its_module_defines(name: str) -> None:
    module = importlib.import_module(f"engine.simulator.{engine.simulator._EXPORTS[name]}")
    assert getattr(engine.simulator, name) is getattr(module, name)
    assert name in dir(engine.simulator)


def test_export_table_and_all_agree() -> None:
    assert sorted(engine.simulator._EXPORTS) == sorted(engine.simulator.__all__)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = engine.simulator.no_such_name  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        from engine.simulator import no_such_name  # type: ignore[attr-defined] # noqa: F401


def test_sim_script_still_offers_the_script_format() -> None:
    for name in engine.sim_script.__all__:
        assert getattr(engine.sim_script, name) is getattr(engine.simulator.script, name)
