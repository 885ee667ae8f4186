"""The installed console scripts exit 0 on success: pip's wrapper calls `sys.exit(entry())`, so an entry point that
returned the command's results (a dict) would exit 1 after a successful run and print the dict."""

import configparser
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hf_decision.commands import console_script

ROOT = Path(__file__).resolve().parents[2]


def entry_points() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    lines = parser["options.entry_points"]["console_scripts"].strip().splitlines()
    pairs = [line.split("=") for line in lines if "=" in line and not line.lstrip().startswith("#")]
    return {name.strip(): target.strip() for name, target in pairs}


def test_console_script_drops_the_result_and_keeps_errors(monkeypatch):
    calls = []

    def cli(argv=None):
        calls.append(argv)
        return {"mean_return": 1.0}

    monkeypatch.setattr(sys, "argv", ["prog", "--flag"])
    entry = console_script(cli)
    assert entry() is None and calls == [None] and entry.__wrapped__ is cli

    def failing(argv=None):
        raise ValueError("bad flag")

    with pytest.raises(ValueError, match="bad flag"):
        console_script(failing)()


@pytest.mark.parametrize("name", sorted(entry_points()))
def test_every_console_script_is_a_console_script_entry(name):
    module, attribute = entry_points()[name].split(":")
    entry = getattr(importlib.import_module(module), attribute)
    assert hasattr(entry, "__wrapped__"), (
        f"{name} -> {module}:{attribute} returns the command's results as exit status"
    )


def test_an_installed_console_script_exits_zero_after_success(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tests.conftest import tiny_cartpole_model

    script = Path(sys.executable).parent / "hf-decision-export"
    if not script.exists():
        pytest.skip("hf-decision-export is not installed beside this Python (install the package)")
    tiny_cartpole_model().save_pretrained(tmp_path / "run")
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [str(script), "--model_dir", str(tmp_path / "run")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "run" / "model.onnx").exists() and "{'output'" not in result.stderr
