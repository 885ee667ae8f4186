"""Check a checkpoint before resuming from it: complete, readable, and written by a model like the one to train.

transformers resumes from whatever it finds: without `optimizer.pt`, `scheduler.pt` or `rng_state.pth` it silently
starts that part fresh (so the resumed run is no longer the uninterrupted one), a damaged file fails deep inside
`json`, torch or safetensors without its name, and a checkpoint of another model size logs "missing keys" and trains
on with random layers. `verify_checkpoint` runs before any of it and raises `CheckpointError` naming the file or
tensor at fault. With `allow_incomplete=True` (`--resume_incomplete`) missing optimizer, scheduler or RNG state is
allowed: a warning names what restarts fresh.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from torch import nn
from transformers.trainer_pt_utils import safe_globals
from transformers.utils import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME

from hf_decision.models.base import CheckpointError

logger = logging.getLogger(__name__)

TRAINER_STATE_NAME = "trainer_state.json"
ADAPTER_WEIGHTS_NAME = "adapter_model.safetensors"  # what a LoRA (peft) model's checkpoints hold instead
OPTIMIZER_NAME = "optimizer.pt"
SCHEDULER_NAME = "scheduler.pt"


def rng_state_name(world_size: int, process_index: int) -> str:
    """The RNG file transformers writes for (and reads back on) this process."""
    return "rng_state.pth" if world_size <= 1 else f"rng_state_{process_index}.pth"


def verify_checkpoint(
    folder: str | os.PathLike,
    model: nn.Module,
    *,
    world_size: int = 1,
    process_index: int = 0,
    training_state: bool = True,
    allow_incomplete: bool = False,
) -> dict:
    """Check that `folder` can be resumed from exactly; return its trainer state (`trainer_state.json`).

    Args:
        folder: the `checkpoint-N` folder.
        model: the model about to be trained: the checkpoint's tensors must have its names and shapes.
        world_size, process_index: which RNG file this process reads.
        training_state: check `optimizer.pt` and `scheduler.pt` (False where DeepSpeed/FSDP store their own).
        allow_incomplete: warn instead of raising when optimizer, scheduler or RNG state is missing.

    Raises:
        CheckpointError: a missing or unreadable file, weights that do not fit `model`, or non-finite weights.
    """
    path = Path(folder)
    if not path.is_dir():
        raise CheckpointError(f"cannot resume from {path}: no such folder")
    state = _trainer_state(path)
    _check_weights(path, model)
    optional = [rng_state_name(world_size, process_index)]
    if training_state:
        optional = [OPTIMIZER_NAME, SCHEDULER_NAME, *optional]
    missing = [name for name in optional if not (path / name).is_file()]
    if missing and not allow_incomplete:
        raise CheckpointError(
            f"cannot resume from {path} as it was: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing, so the run would go on with fresh "
            f"{', '.join(_what(name) for name in missing)} instead of the saved one. Resume from a complete "
            "checkpoint, or pass resume_incomplete=True (--resume_incomplete) to go on with fresh state for what is "
            "missing."
        )
    if missing:
        logger.warning(
            "resuming from %s without %s: fresh %s (resume_incomplete=True)",
            path,
            ", ".join(missing),
            ", ".join(_what(name) for name in missing),
        )
    for name in optional:
        if name not in missing:
            _check_torch_file(path / name)
    return state


def _what(name: str) -> str:
    return {OPTIMIZER_NAME: "optimizer state (AdamW moments)", SCHEDULER_NAME: "learning-rate schedule"}.get(
        name, "random number generators"
    )


def _trainer_state(path: Path) -> dict:
    file = path / TRAINER_STATE_NAME
    if not file.is_file():
        raise CheckpointError(f"cannot resume from {path}: {TRAINER_STATE_NAME} is missing (not a checkpoint-N?)")
    try:
        state = json.loads(file.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{file} is not readable JSON (truncated or corrupted?): {error}") from error
    if not isinstance(state, dict) or not isinstance(state.get("global_step"), int):
        raise CheckpointError(f"{file} has no integer global_step: not a trainer state")
    return state


def _weight_files(path: Path, adapter: bool = False) -> list[Path]:
    if adapter:
        if not (path / ADAPTER_WEIGHTS_NAME).is_file():
            raise CheckpointError(
                f"cannot resume from {path}: {ADAPTER_WEIGHTS_NAME} is missing (the model to train has LoRA adapters)"
            )
        return [path / ADAPTER_WEIGHTS_NAME]
    if (path / SAFE_WEIGHTS_NAME).is_file():
        return [path / SAFE_WEIGHTS_NAME]
    index = path / SAFE_WEIGHTS_INDEX_NAME
    if not index.is_file():
        raise CheckpointError(f"cannot resume from {path}: {SAFE_WEIGHTS_NAME} is missing")
    try:
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{index} is not a readable weight index (truncated or corrupted?)") from error
    for shard in shards:
        if not (path / shard).is_file():
            raise CheckpointError(f"cannot resume from {path}: the shard {shard} named in {index.name} is missing")
    return [path / shard for shard in shards]


def _check_weights(path: Path, model: nn.Module) -> None:
    """Names and shapes against `model`'s, and every floating-point tensor finite."""
    saved: dict[str, list[int]] = {}
    nonfinite: list[str] = []
    adapter = hasattr(model, "peft_config")  # a LoRA model (peft): checkpoints hold its adapters and DT modules
    for file in _weight_files(path, adapter):
        try:
            with safe_open(str(file), framework="pt") as f:
                for key in f.keys():  # noqa: SIM118 (a safe_open handle is not a dict)
                    tensor = f.get_tensor(key)
                    saved[key] = list(tensor.shape)
                    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                        nonfinite.append(f"{key} ({file.name})")
        except SafetensorError as error:
            raise CheckpointError(
                f"{file} is not a readable safetensors file (truncated or corrupted?): {error}"
            ) from error
    if adapter:
        # peft is the optional `lora` extra, present whenever a peft model exists
        from peft import get_peft_model_state_dict

        state = get_peft_model_state_dict(model)
    else:
        state = model.state_dict()
    expected = {name: list(tensor.shape) for name, tensor in state.items()}
    aliases: dict[int, list[str]] = {}  # tied parameters are saved once, under one of their names
    for name, tensor in state.items():
        aliases.setdefault(tensor.data_ptr(), []).append(name)
    problems = [
        f"{key}: checkpoint {saved[key]} vs model {shape}"
        for key, shape in sorted(expected.items())
        if key in saved and saved[key] != shape
    ]
    problems += [
        f"{key}: missing from the checkpoint"
        for key, tensor in sorted(state.items())
        if not any(alias in saved for alias in aliases[tensor.data_ptr()])
    ]
    problems += [f"{key}: in the checkpoint but not in the model" for key in sorted(set(saved) - set(expected))]
    if problems:
        raise CheckpointError(
            f"cannot resume from {path}: its weights do not fit the model to train (a checkpoint of another model "
            "size or architecture?):\n  " + "\n  ".join(problems)
        )
    if nonfinite:
        raise CheckpointError(f"cannot resume from {path}: non-finite (NaN/inf) weights in {', '.join(nonfinite)}")


def _check_torch_file(file: Path) -> None:
    try:
        with safe_globals():  # the numpy types transformers allows in RNG state, as it loads them
            torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # torch raises RuntimeError, EOFError, UnpicklingError, ... for damaged files
        raise CheckpointError(f"{file} is not readable (truncated or corrupted?): {error}") from error
