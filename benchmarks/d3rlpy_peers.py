"""d3rlpy's Decision Transformer and CQL as peers in `results_table.py`, each run in d3rlpy's own virtual environment.

d3rlpy pins versions of gym/gymnasium and friends that need not agree with this project's, so it lives in a venv of
its own (default `$HF_DECISION_CACHE/venv-d3rlpy-2.8.0`, i.e. `~/.cache/hf_decision/...`), made on first use or with

    python benchmarks/d3rlpy_peers.py --setup [--venv DIR]      # or: make d3rlpy-venv

which runs `python -m venv DIR`, installs the CPU `torch==2.13.0` first (from `$PIP_FIND_LINKS` when it is there, so
pip does not pull a multi-GB CUDA build), then `d3rlpy==2.8.0` (2.8.1 pins gymnasium==1.0.0; 2.8.0 does not),
`gymnasium[mujoco]` and `pyarrow`. `run_peer` drives `d3rlpy_worker.py` in that venv through a JSON spec file and
reads its JSON result; any failure becomes `PeerUnavailable` with the reason, so the table says
"unavailable: <reason>" and goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hf_decision.resources import cache_dir

D3RLPY_SPEC = "d3rlpy==2.8.0"
TORCH_SPEC = "torch==2.13.0"
EXTRA_SPECS = ("gymnasium[mujoco]>=1.0", "pyarrow")
WORKER = Path(__file__).resolve().with_name("d3rlpy_worker.py")
STAMP = ".hf_decision_installed"

# CQL as d3rlpy's own D4RL reproduction script sets it (reproductions/offline/cql.py, non-v0 datasets).
CQL_HYPERPARAMETERS = dict(
    actor_learning_rate=1e-4,
    critic_learning_rate=3e-4,
    temp_learning_rate=1e-4,
    alpha_learning_rate=3e-4,
    initial_alpha=2.718281828459045,
    hidden_sizes=[256, 256],
    batch_size=256,
    n_action_samples=10,
    alpha_threshold=10.0,
    conservative_weight=5.0,
)


class PeerUnavailable(RuntimeError):
    """d3rlpy cannot be installed or run here; the message is the reason shown in the table."""


def default_venv() -> Path:
    return cache_dir() / f"venv-{D3RLPY_SPEC.replace('==', '-')}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.startswith("WARNING: Location")]
    return lines[-1].strip() if lines else "no output"


def _worker_env() -> dict[str, str]:
    """This process's environment without PYTHONPATH, so the worker sees only its own venv's packages."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def ensure_venv(venv: str | Path | None = None, torch_spec: str = TORCH_SPEC, create: bool = True) -> Path:
    """The python of d3rlpy's venv, made and filled first when `create` (else PeerUnavailable if it is missing)."""
    venv = Path(venv) if venv else default_venv()
    python = venv / "bin" / "python"
    if (venv / STAMP).exists() and python.exists():
        return python
    if not create:
        raise PeerUnavailable(f"no d3rlpy venv at {venv} (make it with `python benchmarks/d3rlpy_peers.py --setup`)")
    print(f"creating d3rlpy's venv in {venv}: {torch_spec} first, then {D3RLPY_SPEC} {' '.join(EXTRA_SPECS)}")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", torch_spec],
        [str(python), "-m", "pip", "install", "--quiet", D3RLPY_SPEC, *EXTRA_SPECS],
        [str(python), "-c", "import d3rlpy, mujoco, pyarrow, gymnasium; gymnasium.make('Hopper-v5')"],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, env=_worker_env())
        if done.returncode != 0:
            raise PeerUnavailable(f"`{' '.join(command[-3:])}` failed: {_last_line(done.stderr + done.stdout)}")
    (venv / STAMP).write_text(f"{torch_spec} {D3RLPY_SPEC} {' '.join(EXTRA_SPECS)}\n")
    return python


def run_peer(python: Path, spec: dict, timeout: float | None = None) -> dict:
    """Run `d3rlpy_worker.py` with `spec` in d3rlpy's venv; its result (`curve` of returns per evaluation, `seconds`,
    `versions`) or PeerUnavailable naming what went wrong."""
    with tempfile.TemporaryDirectory(prefix="d3rlpy-run-") as tmp:
        spec_path, output = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(json.dumps(spec))
        command = [str(python), str(WORKER), "--spec", str(spec_path), "--output", str(output)]
        try:
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, env=_worker_env(), timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"the d3rlpy worker ran past {timeout:.0f} s") from None
        if done.returncode != 0 or not output.exists():
            raise PeerUnavailable(f"the d3rlpy worker failed: {_last_line(done.stderr + done.stdout)}")
        return json.loads(output.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", action="store_true", help="Create d3rlpy's venv (if missing) and exit.")
    parser.add_argument("--venv", default=None, help=f"The venv's folder (default {default_venv()}).")
    parser.add_argument("--torch_spec", default=TORCH_SPEC, help="torch requirement installed first (CPU wheel).")
    args = parser.parse_args()
    if not args.setup:
        parser.error("nothing to do: pass --setup")
    try:
        python = ensure_venv(args.venv, args.torch_spec)
    except PeerUnavailable as error:
        sys.exit(f"d3rlpy unavailable: {error}")
    version = subprocess.run(
        [str(python), "-c", "import d3rlpy; print(d3rlpy.__version__)"], capture_output=True, text=True
    )
    print(f"d3rlpy {version.stdout.strip()} ready: {python}")


if __name__ == "__main__":
    main()
