"""Every kind of bad input is refused at the boundary with an error that names what is wrong.

One table, one case per bad input, across datasets, configs, model inputs and checkpoints. Each case asserts the
exception type and a regular expression on the message (the episode, column, field or tensor, and expected vs got).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file, save_file

from hf_decision import DecisionTransformerModel
from hf_decision.data import canonicalize, load_trajectories
from hf_decision.models.base import CheckpointError, UnsafeCheckpointError
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig
from tests.conftest import random_window, tiny_dt_config
from tests.data.conftest import table_dataset as episodes
from tests.reliability import bad_agents, bad_data, bad_runs
from tests.reliability.cases import Case
from tests.trainers.tasks import two_behaviour_dataset


def write_parquet(tmp_path: Path, **columns) -> Path:
    path = tmp_path / "episodes.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def write_hdf5(tmp_path: Path, **arrays) -> Path:
    path = tmp_path / "d4rl.hdf5"
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f[key] = value
    return path


def forward_with(**changes):
    model = DecisionTransformerModel(tiny_dt_config(**changes.pop("config", {})))
    batch = random_window(model.config, batch_size=2)
    batch.update(changes)
    return model(**batch)


def saved_model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    DecisionTransformerModel(tiny_dt_config()).save_pretrained(tmp_path / "ckpt")
    return tmp_path / "ckpt"


def edit_config(tmp_path: Path, **fields) -> Path:
    folder = saved_model(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config.update(fields)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def pickle_checkpoint(tmp_path: Path) -> Path:
    folder = saved_model(tmp_path)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return folder


def truncated_checkpoint(tmp_path: Path) -> Path:
    folder = saved_model(tmp_path)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return folder


def checkpoint_without(tmp_path: Path, tensor: str) -> Path:
    folder = saved_model(tmp_path)
    weights = load_file(folder / "model.safetensors")
    del weights[tensor]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


def training_config(**fields) -> DecisionTransformerTrainingConfig:
    return DecisionTransformerTrainingConfig(
        **{"output_dir": "unused", "report_to": "none", "use_cpu": True, **fields}
    )


def trainer_on_mismatched_data(tmp_path: Path):
    model = DecisionTransformerModel(tiny_dt_config(state_dim=4))
    return DecisionTransformerTrainer(model, training_config(output_dir=str(tmp_path)), two_behaviour_dataset())


def resume_from_pickle_checkpoint(tmp_path: Path):
    model = DecisionTransformerModel(tiny_dt_config(state_dim=2, act_dim=1, max_ep_len=8))
    trainer = DecisionTransformerTrainer(model, training_config(output_dir=str(tmp_path)), two_behaviour_dataset())
    return trainer.train(resume_from_checkpoint=str(pickle_checkpoint(tmp_path)))


CASES = {
    # --- datasets: canonicalize / load_trajectories ---
    "dataset: missing column": Case(
        lambda _: canonicalize(episodes(terminals=None)),
        ValueError,
        r"missing column 'terminals': the dataset has columns \['actions', 'observations', 'rewards', 'timeouts'\]",
    ),
    "dataset: episode lengths differ between columns": Case(
        lambda _: canonicalize(episodes(actions=[[[0.5]] * 3, [[0.1]] * 3])),
        ValueError,
        r"episode 1: column 'actions' has 3 steps but 'rewards' has 2",
    ),
    "dataset: NaN observation": Case(
        lambda _: canonicalize(episodes(observations=[[[0.0, 1.0]] * 3, [[1.0, 2.0], [float("nan"), 0.0]]])),
        ValueError,
        r"episode 1: column 'observations' holds a non-finite value \(NaN/inf\) at step 1",
    ),
    "dataset: state size differs from state_dim": Case(
        lambda _: canonicalize(episodes(), state_dim=3),
        ValueError,
        r"column 'observations' has steps of size 2, expected state_dim=3",
    ),
    "dataset: discrete action out of range": Case(
        lambda _: canonicalize(episodes(actions=[[0, 1, 2], [2, 4]]), act_dim=3),
        ValueError,
        r"episode 1: column 'actions' holds action 4, out of range \[0, 3\)",
    ),
    "dataset: episode longer than max_ep_len": Case(
        lambda _: canonicalize(episodes(), max_ep_len=2),
        ValueError,
        r"episode 0 has 3 steps \(column 'rewards'\), longer than max_ep_len=2",
    ),
    "parquet: a column of scalars, not of per-episode lists": Case(
        lambda tmp: load_trajectories(
            write_parquet(
                tmp, observations=[1.0, 2.0], actions=[[0.1], [0.2]], rewards=[[1.0], [1.0]], terminals=[[1], [1]]
            )
        ),
        ValueError,
        r"column 'observations' must hold one list of steps per episode, got type double",
    ),
    "D4RL HDF5: arrays of different lengths": Case(
        lambda tmp: load_trajectories(
            write_hdf5(
                tmp,
                observations=np.zeros((3, 2)),
                actions=np.zeros((2, 1)),
                rewards=np.zeros(3),
                terminals=np.zeros(3, bool),
            )
        ),
        ValueError,
        r"d4rl\.hdf5: 'actions' has 2 steps but 'rewards' has 3",
    ),
    "trainer: dataset state_dim differs from the model's": Case(
        trainer_on_mismatched_data,
        ValueError,
        r"the dataset has state_dim=2 but the model config 4",
    ),
    # --- model config: DecisionTransformerConfig ---
    "config: hidden_size not divisible by n_head": Case(
        lambda _: tiny_dt_config(hidden_size=10, n_head=3),
        ValueError,
        r"hidden_size \(10\) must be divisible by n_head \(3\)",
    ),
    "config: state_std with a zero": Case(
        lambda _: tiny_dt_config(state_std=[1.0, 1.0, 1.0, 0.0]),
        ValueError,
        r"state_std must be > 0 in every dimension, got \[1.0, 1.0, 1.0, 0.0\]",
    ),
    "config: state_mean holding text": Case(
        lambda _: tiny_dt_config(state_mean=["a", 0.0, 0.0, 0.0]),
        ValueError,
        r"state_mean must be a flat list of numbers, got \['a', 0.0, 0.0, 0.0\]",
    ),
    "config: a boolean state_dim": Case(
        lambda _: tiny_dt_config(state_dim=True),
        ValueError,
        r"state_dim must be a positive integer, got True",
    ),
    "config: 3K positions beyond n_positions": Case(
        lambda _: tiny_dt_config(positional_embedding="sequence", context_length=30, n_positions=64),
        ValueError,
        r"context_length=30 needs 3\*context_length=90 positions .* but n_positions=64",
    ),
    "config.json edited on disk (state_mean length)": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(edit_config(tmp, state_mean=[0.0])),
        ValueError,
        r"state_mean has length 1, expected state_dim=4",
    ),
    # --- training config: DecisionTransformerTrainingConfig ---
    "training config: unknown window_sampling": Case(
        lambda _: training_config(window_sampling="random"),
        ValueError,
        r"window_sampling must be 'length' or 'windows', got 'random'",
    ),
    "training config: negative lm_coef": Case(
        lambda _: training_config(lm_coef=-0.5),
        ValueError,
        r"lm_coef must be >= 0, got -0.5",
    ),
    "training config: unknown nonfinite_loss": Case(
        lambda _: training_config(nonfinite_loss="ignore"),
        ValueError,
        r"nonfinite_loss must be 'raise' or 'skip', got 'ignore'",
    ),
    # --- model inputs: DecisionTransformerModel.forward ---
    "forward: states of the wrong size": Case(
        lambda _: forward_with(states=torch.zeros(2, 5, 3)),
        ValueError,
        r"states must be \[B, K, state_dim=4\], got \[2, 5, 3\]",
    ),
    "forward: returns_to_go without its last axis": Case(
        lambda _: forward_with(returns_to_go=torch.zeros(2, 5)),
        ValueError,
        r"returns_to_go must have shape \[2, 5, 1\], got \[2, 5\]",
    ),
    "forward: float actions for a discrete model": Case(
        lambda _: forward_with(config=dict(action_space="discrete"), actions=torch.zeros(2, 5)),
        ValueError,
        r"discrete actions must be integer indices, got dtype torch.float32",
    ),
    "forward: a timestep beyond max_ep_len": Case(
        lambda _: forward_with(timesteps=torch.full((2, 5), 50)),
        ValueError,
        r"timesteps must lie in \[0, max_ep_len=50\), got values in \[50, 50\]",
    ),
    # --- checkpoints ---
    "checkpoint: pickle weights only": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(pickle_checkpoint(tmp)),
        UnsafeCheckpointError,
        r"pytorch_model\.bin is a pickle checkpoint .* has no model\.safetensors.* allow_pickle=True",
    ),
    "checkpoint: use_safetensors=False without allow_pickle": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(saved_model(tmp), use_safetensors=False),
        UnsafeCheckpointError,
        r"use_safetensors=False loads pickle weights; pass allow_pickle=True",
    ),
    "checkpoint: truncated safetensors file": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(truncated_checkpoint(tmp)),
        CheckpointError,
        r"ckpt/model\.safetensors is not a readable safetensors file \(truncated or corrupted\?\)",
    ),
    "checkpoint: config and weights disagree on a shape": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(edit_config(tmp, state_dim=5)),
        CheckpointError,
        r"embed_state\.weight: checkpoint \[16, 4\] vs model \[16, 5\]",
    ),
    "checkpoint: a tensor missing": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(checkpoint_without(tmp, "predict_action.weight")),
        CheckpointError,
        r"predict_action\.weight: missing from the checkpoint",
    ),
    "resume: checkpoint with pickle weights": Case(
        resume_from_pickle_checkpoint,
        UnsafeCheckpointError,
        r"pytorch_model\.bin is a pickle checkpoint .* resumes from safetensors weights only",
    ),
    **bad_data.CASES,
    **bad_runs.CASES,
    **bad_agents.CASES,
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_naming_what_is_wrong(name, tmp_path):
    case = CASES[name]
    with pytest.raises(case.error, match=case.match):
        case.call(tmp_path)
