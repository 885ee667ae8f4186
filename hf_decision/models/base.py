"""What every hf_decision model shares on top of `PreTrainedModel`: a loading policy that never unpickles by default.

`HFDecisionPreTrainedModel.from_pretrained` differs from transformers' in three ways:

- **safetensors only.** transformers falls back to `pytorch_model.bin` (read with `torch.load(weights_only=True)`,
  a restricted unpickler) when a checkpoint has no `model.safetensors`. Here that fallback needs
  `allow_pickle=True`; without it a pickle-only checkpoint raises `UnsafeCheckpointError` naming the file.
- **Strict.** A checkpoint whose tensors do not fit the model its config describes (a shape mismatch, a tensor
  missing, an unknown tensor) raises `CheckpointError` naming each tensor with both shapes, where transformers
  raises a `RuntimeError` pointing at a logged report (mismatch) or silently re-initializes (missing).
  `strict=False` restores transformers' behaviour.
- **Named files.** A truncated or corrupted safetensors file raises `CheckpointError` naming the file.
- **Finite weights.** (Strict.) NaN/inf weights raise `CheckpointError` naming the tensors.
- **A local folder is checked first.** A missing folder raises `FileNotFoundError` naming it (not transformers'
  "Repo id must be in the form…"); a folder without `config.json`, or whose `config.json` is unreadable, of another
  `model_type`, or without `state_dim` / `act_dim`, raises `CheckpointError` naming the file.

`save_pretrained` is staged: a save that fails on the way (a full disk) leaves the previous save whole.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import torch
from safetensors import SafetensorError, safe_open
from transformers import PreTrainedModel
from transformers.utils import (
    CONFIG_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
)

PICKLE_WEIGHTS_NAMES = (WEIGHTS_NAME, WEIGHTS_INDEX_NAME)
# A save is staged in a folder of this prefix (see `save_pretrained`); the prefix matches no checkpoint or weight name.
STAGING_PREFIX = ".tmp-save-"
# The weight files a save may leave behind when the next one is sharded differently.
SAFETENSORS_WEIGHTS = re.compile(r"model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded as it is: unreadable, or not matching the model its config describes."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint whose weights are only stored as pickle, refused unless `allow_pickle=True`."""


class HFDecisionPreTrainedModel(PreTrainedModel):
    """Base class of hf_decision models: `from_pretrained` loads safetensors only (unless `allow_pickle=True`), is
    strict about tensor names and shapes, and names the file or tensor at fault. Subclasses set `config_class` etc.
    as for any `PreTrainedModel`, and `agent_class`, the name of the `hf_decision.agents` class that acts with them
    (checked against that class's `model_class` when it is defined; `hf_decision.agents.agent_for` reads it).
    """

    agent_class: ClassVar[str | None] = None
    # Fields a saved config.json must hold: without them the config class's defaults (a state_dim of 11, say) would
    # describe another model than the weights.
    required_config_fields: ClassVar[tuple[str, ...]] = ("state_dim", "act_dim")

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike | None,
        *model_args,
        allow_pickle: bool = False,
        strict: bool = True,
        **kwargs,
    ):
        """`PreTrainedModel.from_pretrained` with hf_decision's loading policy (see the module docstring).

        Args:
            allow_pickle: also accept `pytorch_model.bin` weights when there are no safetensors. transformers then
                reads them with `torch.load(weights_only=True)` (pass `weights_only=False` only for a file you
                trust). `use_safetensors=False` needs `allow_pickle=True` too.
            strict: raise `CheckpointError` when the checkpoint's tensors and the model's differ in names or
                shapes, or hold NaN/inf. Ignored when `ignore_mismatched_sizes=True` or `output_loading_info=True`
                is passed: the caller then handles the differences.

        Raises:
            UnsafeCheckpointError: the checkpoint only holds pickle weights and `allow_pickle` is False.
            CheckpointError: a safetensors file is truncated or corrupted, or (strict) tensors do not fit the model
                or are not finite.
        """
        source = pretrained_model_name_or_path
        if kwargs.get("config") is None:
            _check_source(cls, source, kwargs.get("subfolder", ""))
        if not allow_pickle:
            if kwargs.get("use_safetensors") is False:
                raise UnsafeCheckpointError(
                    "use_safetensors=False loads pickle weights; pass allow_pickle=True as well to allow it "
                    "(only for a checkpoint you trust)"
                )
            kwargs["use_safetensors"] = True
        check = strict and not kwargs.get("ignore_mismatched_sizes") and not kwargs.get("output_loading_info")
        if check:
            kwargs.update(ignore_mismatched_sizes=True, output_loading_info=True)
        try:
            loaded = super().from_pretrained(source, *model_args, **kwargs)
        except OSError as error:
            if source is None or allow_pickle or "safetensors" not in str(error):
                raise
            raise _no_safetensors_error(source, kwargs.get("subfolder", "")) from error
        except SafetensorError as error:
            raise _unreadable_error(source, kwargs.get("subfolder", ""), error) from error
        if not check:
            return loaded
        model, info = loaded
        _raise_on_mismatch(source, info)
        _raise_on_nonfinite(source, model)
        return model

    def save_pretrained(self, save_directory: str | os.PathLike, is_main_process: bool = True, **kwargs) -> None:
        """`PreTrainedModel.save_pretrained`, staged: everything is written into a temporary folder inside
        `save_directory`, then moved into place file by file (renames, which need no disk space), so a save that
        fails on the way (a full disk) leaves the previous save whole, never a new `config.json` over old weights.
        Weight shards of the previous save that this one does not write are removed after the moves.
        (On other processes than the main one, and with `push_to_hub=True`, transformers' save runs as it is.)"""
        if not is_main_process or kwargs.get("push_to_hub"):
            return super().save_pretrained(save_directory, is_main_process=is_main_process, **kwargs)
        target = Path(save_directory)
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
        try:
            super().save_pretrained(staging, is_main_process=is_main_process, **kwargs)
            written = sorted(path.name for path in staging.iterdir())
            stale = [
                path
                for path in target.iterdir()
                if path.is_file() and path.name not in written and SAFETENSORS_WEIGHTS.fullmatch(path.name)
            ]
            for name in sorted(written, key=lambda name: name == CONFIG_NAME):  # config.json last
                if (target / name).is_dir():
                    shutil.rmtree(target / name)
                os.replace(staging / name, target / name)
            for path in stale:
                path.unlink()
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _check_source(cls, source, subfolder: str) -> None:
    """Before transformers reads anything: a local folder that does not exist, or whose config.json is missing,
    unreadable, of another model type or without a required field, raises naming the folder or file."""
    if source is None:
        return
    text = str(source)
    path = Path(text).expanduser()
    if not path.exists():
        looks_local = isinstance(source, os.PathLike) or text.startswith((".", "/", "~")) or text.count("/") > 1
        if looks_local or (len(path.parts) > 1 and path.parent.is_dir()):
            raise FileNotFoundError(f"no such model folder: {text} (looked in {Path.cwd()})")
        return  # a Hub id
    folder = path / subfolder
    config = folder / CONFIG_NAME
    if not folder.is_dir():
        return
    if not config.is_file():
        files = sorted(p.name for p in folder.iterdir())
        raise CheckpointError(
            f"{folder} has no {CONFIG_NAME}: not a model folder written by save_pretrained (it holds {files})"
        )
    try:
        fields = json.loads(config.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{config} is not readable JSON (truncated or corrupted?): {error}") from error
    expected = cls.config_class.model_type
    if not isinstance(fields, dict) or fields.get("model_type") != expected:
        got = fields.get("model_type") if isinstance(fields, dict) else None
        raise CheckpointError(f"{config} has model_type {got!r}, but {cls.__name__} loads {expected!r} models")
    aliases = getattr(cls.config_class, "attribute_map", {})
    missing = [
        name
        for name in cls.required_config_fields
        if name not in fields and not any(alias in fields for alias, target in aliases.items() if target == name)
    ]
    if missing:
        raise CheckpointError(
            f"{config} has no {', '.join(repr(name) for name in missing)}: without it the config's default would "
            "describe another model than the weights; add it to the file"
        )


def _folder(source, subfolder: str) -> Path | None:
    if source is None:
        return None
    folder = Path(source) / subfolder
    return folder if folder.is_dir() else None


def _no_safetensors_error(source, subfolder: str) -> UnsafeCheckpointError | CheckpointError:
    folder = _folder(source, subfolder)
    pickles = [folder / name for name in PICKLE_WEIGHTS_NAMES if folder is not None and (folder / name).is_file()]
    if pickles:
        return UnsafeCheckpointError(
            f"{pickles[0]} is a pickle checkpoint and {folder} has no {SAFE_WEIGHTS_NAME}: hf_decision loads "
            "safetensors only. Pass allow_pickle=True to load it (only if you trust its origin), or convert it "
            "once with `model.save_pretrained(...)` after such a load."
        )
    return CheckpointError(
        f"{source} has no {SAFE_WEIGHTS_NAME} (nor {SAFE_WEIGHTS_INDEX_NAME}). If it holds pickle weights "
        f"({WEIGHTS_NAME}), pass allow_pickle=True to load them (only if you trust their origin)."
    )


def _unreadable_error(source, subfolder: str, error: Exception) -> CheckpointError:
    folder = _folder(source, subfolder)
    for path in sorted(folder.glob("*.safetensors")) if folder is not None else []:
        try:
            with safe_open(str(path), framework="pt") as f:
                f.keys()
        except SafetensorError as file_error:
            return CheckpointError(
                f"{path} is not a readable safetensors file (truncated or corrupted?): {file_error}"
            )
    return CheckpointError(f"the safetensors weights of {source} are unreadable (truncated or corrupted?): {error}")


def _raise_on_nonfinite(source, model: PreTrainedModel) -> None:
    bad = [
        name
        for name, tensor in model.state_dict().items()
        if tensor.is_floating_point() and not torch.isfinite(tensor).all()
    ]
    if bad:
        raise CheckpointError(
            f"the weights of {source} hold non-finite values (NaN/inf) in {', '.join(bad)}: the run that wrote them "
            "diverged, or the file was damaged. Pass strict=False to load them anyway."
        )


def _raise_on_mismatch(source, info: dict) -> None:
    problems = [
        f"{key}: checkpoint {list(saved)} vs model {list(expected)}"
        for key, saved, expected in sorted(info.get("mismatched_keys", ()), key=lambda k: k[0])
    ]
    problems += [f"{key}: missing from the checkpoint" for key in sorted(info.get("missing_keys", ()))]
    problems += [f"{key}: in the checkpoint but not in the model" for key in sorted(info.get("unexpected_keys", ()))]
    if problems:
        raise CheckpointError(
            f"the weights of {source} do not fit the model its config describes (was config.json edited, or the "
            "weights written by another model?):\n  " + "\n  ".join(problems)
        )
