"""Bad-input cases of runs: two runs on one folder, resume from what cannot be restored, the final save, max_steps.

`CASES` joins the table of `test_bad_input.py`; each helper builds the bad input in `tmp` and makes the call.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import TrainerCallback

from hf_decision import DecisionTransformerModel
from hf_decision.commands.push_to_hub import PushArguments
from hf_decision.commands.push_to_hub import main as push_main
from hf_decision.models.base import CheckpointError
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig
from tests.conftest import tiny_dt_config
from tests.reliability.cases import Case
from tests.trainers.tasks import task_config, two_behaviour_dataset


def tiny_trainer(output_dir: Path, n_layer: int = 2, hidden_size: int = 16, **overrides) -> DecisionTransformerTrainer:
    """The tiny DT of `tests/trainers` (state_dim 2, act_dim 1) with `n_layer` blocks of `hidden_size`."""
    torch.manual_seed(0)
    config = task_config(n_layer=n_layer, hidden_size=hidden_size)
    kwargs = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=4,
        warmup_steps=0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    kwargs = {"max_steps": 3, **kwargs, **overrides}
    args = DecisionTransformerTrainingConfig(**kwargs)
    return DecisionTransformerTrainer(DecisionTransformerModel(config), args, two_behaviour_dataset(2))


def checkpoint(tmp: Path, *delete: str, **model) -> Path:
    """`checkpoint-2` of a 2-step run of `tiny_trainer(**model)`, with the files `delete` removed."""
    tiny_trainer(tmp / "run", max_steps=2, save_strategy="steps", save_steps=2, **model).train()
    folder = tmp / "run" / "checkpoint-2"
    for name in delete:
        (folder / name).unlink()
    return folder


def resume(tmp: Path, folder: Path, **model):
    return tiny_trainer(tmp / "resumed", **model).train(resume_from_checkpoint=str(folder))


def truncate(file: Path) -> None:
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def damaged(tmp: Path, name: str) -> Path:
    folder = checkpoint(tmp)
    truncate(folder / name)
    return folder


def with_nan_weight(folder: Path, tensor: str = "predict_action.weight") -> Path:
    weights = load_file(folder / "model.safetensors")
    weights[tensor][0, 0] = float("nan")
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


class SecondRunAt(TrainerCallback):
    """At the end of step 1, start a second run on the same `output_dir` (which must refuse to start)."""

    def __init__(self, output_dir: Path):
        self.output_dir = output_dir

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 1:
            tiny_trainer(self.output_dir, max_steps=2, save_strategy="steps", save_steps=1).train()


def two_runs_on_one_output_dir(tmp: Path):
    first = tiny_trainer(tmp, max_steps=2, save_strategy="steps", save_steps=1)
    first.add_callback(SecondRunAt(tmp))
    return first.train()


def resume_finished_run(tmp: Path):
    folder = checkpoint(tmp)
    return tiny_trainer(tmp / "resumed", max_steps=2).train(resume_from_checkpoint=str(folder))


def saved_with_nan_weight(tmp: Path) -> Path:
    DecisionTransformerModel(tiny_dt_config()).save_pretrained(tmp / "model")
    return with_nan_weight(tmp / "model")


def saved_config_edited(tmp: Path, drop: str | None = None, **fields) -> Path:
    DecisionTransformerModel(tiny_dt_config()).save_pretrained(tmp / "model")
    config = json.loads((tmp / "model" / "config.json").read_text())
    config.pop(drop, None)
    (tmp / "model" / "config.json").write_text(json.dumps({**config, **fields}))
    return tmp / "model"


def saved_without_config(tmp: Path) -> Path:
    DecisionTransformerModel(tiny_dt_config()).save_pretrained(tmp / "model")
    (tmp / "model" / "config.json").unlink()
    return tmp / "model"


CASES = {
    "checkpoint: config.json without state_dim": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(saved_config_edited(tmp, drop="state_dim")),
        CheckpointError,
        r"model/config\.json has no 'state_dim': without it the config's default would describe another model",
    ),
    "checkpoint: a folder without config.json": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(saved_without_config(tmp)),
        CheckpointError,
        r"model has no config\.json: not a model folder written by save_pretrained "
        r"\(it holds \['model\.safetensors'\]\)",
    ),
    "checkpoint: a local folder that does not exist": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(tmp / "runs" / "final"),
        FileNotFoundError,
        r"no such model folder: .*runs/final",
    ),
    "checkpoint: a config.json of another model_type": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(saved_config_edited(tmp, model_type="gpt2")),
        CheckpointError,
        r"config\.json has model_type 'gpt2', but DecisionTransformerModel loads 'hf_decision_transformer' models",
    ),
    "checkpoint: NaN weights": Case(
        lambda tmp: DecisionTransformerModel.from_pretrained(saved_with_nan_weight(tmp)),
        CheckpointError,
        r"the weights of .*model hold non-finite values \(NaN/inf\) in predict_action\.weight: .* strict=False",
    ),
    "training: a second run on the output_dir of a running one": Case(
        two_runs_on_one_output_dir,
        RuntimeError,
        r"output_dir .* is in use by another training run: process \d+ on host .* \(lock file .*\.hf_decision-run"
        r"\.lock\).* take_over_lock=True",
    ),
    "training config: max_steps 0": Case(
        lambda tmp: tiny_trainer(tmp, max_steps=0),
        ValueError,
        r"max_steps must be >= 1 \(optimizer steps\), or -1 to train num_train_epochs epochs; got 0",
    ),
    "training config: max_steps -5": Case(
        lambda tmp: tiny_trainer(tmp, max_steps=-5),
        ValueError,
        r"max_steps must be >= 1 .*; got -5",
    ),
    "resume: optimizer.pt missing": Case(
        lambda tmp: resume(tmp, checkpoint(tmp, "optimizer.pt")),
        CheckpointError,
        r"checkpoint-2 as it was: optimizer\.pt is missing, so the run would go on with fresh optimizer state.*"
        r"resume_incomplete=True",
    ),
    "resume: scheduler.pt and rng_state.pth missing": Case(
        lambda tmp: resume(tmp, checkpoint(tmp, "scheduler.pt", "rng_state.pth")),
        CheckpointError,
        r"scheduler\.pt, rng_state\.pth are missing, so the run would go on with fresh learning-rate schedule, "
        r"random number generators",
    ),
    "resume: a 2-layer model from a 1-layer checkpoint without optimizer.pt": Case(
        lambda tmp: resume(tmp, checkpoint(tmp, "optimizer.pt", n_layer=1), n_layer=2),
        CheckpointError,
        r"its weights do not fit the model to train .*\n  transformer\.h\.1\.attn\.c_attn\.bias: missing from the "
        r"checkpoint",
    ),
    "resume: a checkpoint of another model size": Case(
        lambda tmp: resume(tmp, checkpoint(tmp, hidden_size=32), hidden_size=16),
        CheckpointError,
        r"embed_action\.weight: checkpoint \[32, 1\] vs model \[16, 1\]",
    ),
    "resume: a damaged trainer_state.json": Case(
        lambda tmp: resume(tmp, damaged(tmp, "trainer_state.json")),
        CheckpointError,
        r"checkpoint-2/trainer_state\.json is not readable JSON \(truncated or corrupted\?\)",
    ),
    "resume: a truncated optimizer.pt": Case(
        lambda tmp: resume(tmp, damaged(tmp, "optimizer.pt")),
        CheckpointError,
        r"checkpoint-2/optimizer\.pt is not readable \(truncated or corrupted\?\)",
    ),
    "resume: a truncated model.safetensors": Case(
        lambda tmp: resume(tmp, damaged(tmp, "model.safetensors")),
        CheckpointError,
        r"checkpoint-2/model\.safetensors is not a readable safetensors file \(truncated or corrupted\?\)",
    ),
    "resume: NaN weights": Case(
        lambda tmp: resume(tmp, with_nan_weight(checkpoint(tmp))),
        CheckpointError,
        r"checkpoint-2: non-finite \(NaN/inf\) weights in predict_action\.weight \(model\.safetensors\)",
    ),
    "resume: a run that already reached max_steps": Case(
        resume_finished_run,
        ValueError,
        r"checkpoint-2 is at step 2 and max_steps=2: the run is finished, there is nothing to resume",
    ),
}


def push(tmp: Path, model_dir: Path):
    return push_main(PushArguments(model_dir=str(model_dir), local_dir=str(tmp / "agent")))


def empty_folder(tmp: Path) -> Path:
    (tmp / "run").mkdir()
    return tmp / "run"


CASES |= {
    "push_to_hub: a model_dir that does not exist": Case(
        lambda tmp: push(tmp, tmp / "no_such_run"),
        FileNotFoundError,
        r"--model_dir .*no_such_run: no such folder",
    ),
    "push_to_hub: an empty model_dir": Case(
        lambda tmp: push(tmp, empty_folder(tmp)),
        FileNotFoundError,
        r"--model_dir .*run has no config\.json, so it holds no trained model \(it holds \[\]\)",
    ),
}
