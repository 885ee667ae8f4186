"""What every hf_decision trainer shares on top of `transformers.Trainer`: loss parts in the logs, AdamW groups,
atomic checkpoints, and a guard against non-finite losses."""

from __future__ import annotations

import logging
import os
import shutil
from collections import defaultdict
from pathlib import Path

import torch
from torch import nn
from transformers import Trainer
from transformers.pytorch_utils import Conv1D
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint, rotate_checkpoints
from transformers.utils import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME, WEIGHTS_INDEX_NAME, WEIGHTS_NAME

from hf_decision.models.base import UnsafeCheckpointError
from hf_decision.trainers.preemption import SaveOnSigterm
from hf_decision.trainers.resume import verify_checkpoint
from hf_decision.trainers.run_lock import RunLock, RunLockError, acquire_run_lock

logger = logging.getLogger(__name__)

NO_DECAY_MODULES = (nn.LayerNorm, nn.Embedding)
NONFINITE_LOSS_POLICIES = ("raise", "skip")
# A checkpoint is written under `<run_dir>/.tmp-checkpoint-N/` and renamed into place when complete. The name must
# not match `checkpoint-*`: transformers' `get_last_checkpoint` and checkpoint rotation glob for that.
STAGING_PREFIX = ".tmp-"
TRAINER_STATE_NAME = "trainer_state.json"
PEFT_PREFIX = "base_model.model."  # what a `peft.PeftModel` puts before the names of the model it wraps


class NonFiniteLossError(ValueError):
    """A NaN or infinite training loss; the message names the optimizer step and the batch."""


def parameter_groups(
    model: nn.Module,
    weight_decay: float,
    learning_rate: float,
    backbone_learning_rate: float | None = None,
    backbone_prefix: str = "transformer.",
) -> list[dict]:
    """AdamW parameter groups: weight decay only on the weights of linear layers (no decay on biases, LayerNorm,
    embeddings and scalar parameters such as the Online DT's log-temperature), and an optional separate learning
    rate for the parameters under `backbone_prefix`.

    Tied parameters appear once. Empty groups are dropped, and so are frozen parameters (LoRA's backbone). A peft
    model's names (`base_model.model.` + the wrapped model's) count as the wrapped model's.
    """
    no_decay: set[int] = set()
    for module in model.modules():
        if isinstance(module, NO_DECAY_MODULES):
            no_decay.update(id(p) for p in module.parameters(recurse=False))
        elif isinstance(module, (nn.Linear, Conv1D)) and module.bias is not None:
            no_decay.add(id(module.bias))
    no_decay.update(id(p) for p in model.parameters() if p.dim() == 0)  # scalars, e.g. a learned temperature
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = defaultdict(list)
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        name = name.removeprefix(PEFT_PREFIX)
        in_backbone = backbone_learning_rate is not None and name.startswith(backbone_prefix)
        groups[(id(param) not in no_decay, in_backbone)].append(param)
    return [
        {
            "params": params,
            "weight_decay": weight_decay if decay else 0.0,
            "lr": backbone_learning_rate if in_backbone else learning_rate,
        }
        for (decay, in_backbone), params in sorted(groups.items())
    ]


class RLTrainer(Trainer):
    """A `Trainer` whose `compute_loss` may record named loss parts; each part is logged, averaged over the logging
    window, next to the total `loss`. The optimizer uses `parameter_groups` (with `args.backbone_learning_rate`
    when the arguments define it).

    State that lives outside the model and optimizer (a text stream's position, a target network, a replay buffer)
    goes into checkpoints through `save_extra_state` / `load_extra_state`, which subclasses override.

    Reliability, for every subclass:

    - **Atomic checkpoints.** `checkpoint-N` is written (model, optimizer, scheduler, RNG, trainer state, and
      `save_extra_state`) into a staging folder and renamed into place when complete, so a crash during a save
      leaves the previous checkpoints intact and no partial `checkpoint-N` for `get_last_checkpoint` to pick.
    - **Non-finite losses.** With `args.nonfinite_loss = "raise"` (the default when the arguments lack the field)
      a NaN/inf loss raises `NonFiniteLossError` naming the step and batch. With `"skip"` the batch's gradient is
      dropped (with gradient accumulation: the gradient accumulated so far in that optimizer step), so it moves no
      parameter, and the number of skipped batches since the last log is logged as `nonfinite_skipped`. In
      multi-process training every process skips (or raises) when any process sees a non-finite loss.
    - **Resume reads no pickle weights.** A checkpoint whose model weights are only `pytorch_model.bin` is refused.
      (transformers reads `optimizer.pt`, `scheduler.pt` and `rng_state*.pth` with `torch.load(weights_only=True)`,
      a restricted unpickler that builds only tensors and plain containers.)
    - **One run per `output_dir`.** `train` holds an exclusive lock file in `output_dir` (see `run_lock`); a second
      run on the same folder raises `RunLockError` naming the first. A lock whose process is dead on this host is
      taken over; `args.take_over_lock` takes over any.
    - **Resume restores all or refuses.** Before resuming, `verify_checkpoint` (see `resume`) checks that the
      checkpoint holds readable weights that fit the model (names, shapes, finite values), trainer state, optimizer,
      scheduler and RNG state, and raises `CheckpointError` naming the file or tensor otherwise
      (`args.resume_incomplete` lets missing optimizer/scheduler/RNG state restart fresh, with a warning). A
      checkpoint already at `max_steps` is refused: the run is finished.
    - **Preemption.** On SIGTERM (`args.save_on_sigterm`, default on) the step in progress ends with a checkpoint,
      then training stops and the signal is delivered again (see `preemption`).
    """

    # compute_loss returns a per-batch mean: the Trainer divides it by the gradient accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        # Logged parts: a running (sum, count) per name, accumulated in place. Keeping one tensor per step until
        # the next log instead pins small allocations all over the heap between the steps' large transient
        # ones, so the allocator cannot return freed memory and RSS creeps up over long logging intervals.
        self._loss_sums: dict[str, torch.Tensor] = {}
        self._loss_counts: dict[str, int] = defaultdict(int)
        self._pending_parts: dict[str, torch.Tensor] | None = None  # this micro-batch's, until checked finite
        policy = getattr(self.args, "nonfinite_loss", "raise")
        if policy not in NONFINITE_LOSS_POLICIES:
            raise ValueError(f"nonfinite_loss must be one of {NONFINITE_LOSS_POLICIES}, got {policy!r}")
        self._nonfinite_skipped = 0
        self._micro_batch = (-1, 0)  # (optimizer step, index of the micro-batch within it)
        self._flop_parameters: int | None = None

    def record_loss_parts(self, **parts: torch.Tensor) -> None:
        """Keep detached loss parts of one micro-batch for the next log (no device sync here)."""
        if not self.model.training:
            return
        parts = {name: value.detach().float() for name, value in parts.items()}
        if self._pending_parts is not None:  # inside `training_step`: kept once the loss is known to be finite
            self._pending_parts.update(parts)
        else:
            self._accumulate_parts(parts)

    def _accumulate_parts(self, parts: dict[str, torch.Tensor]) -> None:
        for name, value in parts.items():
            if name in self._loss_sums:
                self._loss_sums[name].add_(value)
            else:
                self._loss_sums[name] = value.clone()
            self._loss_counts[name] += 1

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._loss_sums:
            for name, total in self._loss_sums.items():
                logs[name] = round(total.item() / self._loss_counts[name], 6)
            self._loss_sums.clear()
            self._loss_counts.clear()
        if "loss" in logs and getattr(self.args, "nonfinite_loss", "raise") == "skip":
            logs["nonfinite_skipped"] = self._nonfinite_skipped
            self._nonfinite_skipped = 0
        super().log(logs, start_time)

    def training_step(self, model, inputs, num_items_in_batch=None) -> torch.Tensor:
        """transformers' step (forward, backward), then the non-finite loss guard (see the class docstring)."""
        step = self.state.global_step
        index = self._micro_batch[1] + 1 if self._micro_batch[0] == step else 0
        self._micro_batch = (step, index)
        self._pending_parts = {}
        try:
            loss = super().training_step(model, inputs, num_items_in_batch)
            parts = self._pending_parts
        finally:
            self._pending_parts = None
        bad_processes = self._nonfinite_processes(loss)
        if not bad_processes:
            self._accumulate_parts(parts)
            return loss
        shown = {name: value.item() for name, value in parts.items()} or {"loss": loss.item()}
        values = ", ".join(f"{name}={value}" for name, value in shown.items())
        where = (
            f"at optimizer step {step + 1} (batch {step * self.args.gradient_accumulation_steps + index} counted from "
            f"the start of training, micro-batch {index} of the step)"
        )
        if self.accelerator.num_processes > 1:
            where += f" on process(es) {bad_processes}; on process {self.args.process_index}: {values}"
        else:
            where += f": {values}"
        if getattr(self.args, "nonfinite_loss", "raise") == "raise":
            raise NonFiniteLossError(
                f"non-finite training loss {where}. Set nonfinite_loss='skip' to skip such batches instead."
            )
        model.zero_grad(set_to_none=True)  # no gradient, so the optimizer moves no parameter; its parts are dropped
        self._nonfinite_skipped += 1
        logger.warning("skipped a batch with a non-finite training loss %s", where)
        return loss

    def _nonfinite_processes(self, loss: torch.Tensor) -> list[int]:
        """The processes whose loss is NaN/inf (one all-gather when there are several)."""
        bad = (~torch.isfinite(loss.detach())).any().reshape(1).long()
        if self.accelerator.num_processes > 1:
            bad = self.accelerator.gather(bad)
        return torch.nonzero(bad).flatten().tolist()

    def floating_point_ops(self, inputs: dict[str, torch.Tensor]) -> int:
        """transformers' estimate for `total_flos`, `6 · (elements of the main input) · (non-embedding parameters)`,
        with the parameters counted once: transformers counts them on every step, about 1% of a small DT's step."""
        main_input = getattr(self.model, "main_input_name", "input_ids")
        if main_input not in inputs or not hasattr(self.model, "num_parameters"):
            return 0
        if self._flop_parameters is None:
            self._flop_parameters = self.model.num_parameters(exclude_embeddings=True)
        return 6 * inputs[main_input].numel() * self._flop_parameters

    def record_metrics(self, **metrics: float) -> None:
        """Keep scalar metrics (e.g. returns of online episodes) for the next log, averaged like loss parts."""
        if self.model.training:
            self._accumulate_parts({name: torch.tensor(float(value)) for name, value in metrics.items()})

    def save_extra_state(self, folder: str) -> None:
        """Write the subclass's extra training state into checkpoint `folder` (the main process only)."""

    def load_extra_state(self, folder: str) -> None:
        """Restore what `save_extra_state` wrote when resuming from checkpoint `folder`."""

    def _save_checkpoint(self, model, trial):
        """Write `checkpoint-N` atomically: transformers' save and `save_extra_state` into a staging folder, then one
        rename. Rotation (`save_total_limit`) runs after the rename, on complete checkpoints only."""
        run_dir = self._get_output_dir(trial=trial)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging = os.path.join(run_dir, STAGING_PREFIX + name)
        if self.args.should_save:
            for stale in Path(run_dir).glob(f"{STAGING_PREFIX}{PREFIX_CHECKPOINT_DIR}-*"):  # left by a crash
                shutil.rmtree(stale)
        self.accelerator.wait_for_everyone()
        # transformers writes into `<_get_output_dir()>/checkpoint-N`; point that at the staging folder for this save.
        self._get_output_dir = lambda trial=None: staging
        try:
            super()._save_checkpoint(model, trial)
        finally:
            del self._get_output_dir
        written = os.path.join(staging, name)
        if self.args.should_save:
            self._point_best_checkpoint_at(run_dir, staging, written)
            self.save_extra_state(written)
        self.accelerator.wait_for_everyone()  # every process has written its RNG state
        if self.args.should_save:
            _replace_folder(written, os.path.join(run_dir, name))
            shutil.rmtree(staging)
            rotate_checkpoints(
                output_dir=run_dir,
                save_total_limit=self.args.save_total_limit,
                best_model_checkpoint=self.state.best_model_checkpoint,
                use_mtime=True,
            )
        self.accelerator.wait_for_everyone()

    def _point_best_checkpoint_at(self, run_dir: str, staging: str, written: str) -> None:
        """transformers recorded the best checkpoint inside the staging folder; record where it will be."""
        best = self.state.best_model_checkpoint
        if best is None or not best.startswith(staging):
            return
        self.state.best_model_checkpoint = os.path.join(run_dir, os.path.relpath(best, staging))
        if os.path.exists(os.path.join(written, TRAINER_STATE_NAME)):
            self.state.save_to_json(os.path.join(written, TRAINER_STATE_NAME))

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs):
        """transformers' `train`, holding the lock on `output_dir` throughout (see `run_lock`), and, when resuming,
        after `verify_checkpoint` has found the checkpoint complete and fitting the model (see `resume`)."""
        lock = self._lock_output_dir()
        sigterm = SaveOnSigterm(self)
        catching = getattr(self.args, "save_on_sigterm", True) and sigterm.install()
        try:
            if catching:
                self.add_callback(sigterm)
            if resume_from_checkpoint:
                folder = resume_from_checkpoint
                if folder is True:
                    folder = get_last_checkpoint(self.args.output_dir)
                    if folder is None:
                        raise ValueError(f"resume_from_checkpoint=True but {self.args.output_dir} has no checkpoint")
                _refuse_pickle_weights(folder)
                self._verify_resumable(folder)
                self.load_extra_state(folder)
            output = super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)
        finally:
            if catching:
                self.remove_callback(sigterm)
                sigterm.uninstall()
            if lock is not None:
                lock.release()
        if sigterm.received:  # checkpointed and stopped: now end as SIGTERM asked (or run the caller's handler)
            sigterm.resend()
        return output

    def _lock_output_dir(self) -> RunLock | None:
        """Lock `output_dir` on the process that saves; with several processes, all raise when it fails."""
        lock, error = None, None
        if self.args.should_save:
            try:
                lock = acquire_run_lock(self.args.output_dir, take_over=getattr(self.args, "take_over_lock", False))
            except RunLockError as raised:
                error = raised
        if self.accelerator.num_processes > 1:
            failed = self.accelerator.gather(torch.tensor([int(error is not None)], device=self.args.device)).any()
            if failed and error is None:
                if lock is not None:
                    lock.release()
                error = RunLockError(f"another process of this run could not lock {self.args.output_dir}")
        if error is not None:
            raise error
        return lock

    def _verify_resumable(self, folder: str) -> None:
        """`verify_checkpoint`, and refuse a checkpoint of a run that already reached `max_steps`."""
        state = verify_checkpoint(
            folder,
            self.model,
            world_size=self.args.world_size,
            process_index=self.args.process_index,
            training_state=not (self.is_deepspeed_enabled or self.is_fsdp_enabled),
            allow_incomplete=getattr(self.args, "resume_incomplete", False),
        )
        if 0 < self.args.max_steps <= state["global_step"]:
            raise ValueError(
                f"{folder} is at step {state['global_step']} and max_steps={self.args.max_steps}: the run is "
                "finished, there is nothing to resume. Raise max_steps to train further."
            )

    def create_optimizer(self, model=None) -> torch.optim.Optimizer:
        if self.optimizer is None:
            opt_model = self.model if model is None else model
            groups = parameter_groups(
                opt_model,
                self.args.weight_decay,
                self.args.learning_rate,
                getattr(self.args, "backbone_learning_rate", None),
            )
            optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
            optimizer_kwargs.pop("lr", None)  # each group carries its own
            self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer


def _replace_folder(source: str, target: str) -> None:
    """Rename `source` to `target`; an existing `target` (the same step saved again) is moved aside first, so some
    complete checkpoint exists at every moment."""
    if not os.path.exists(target):
        os.replace(source, target)
        return
    aside = os.path.join(os.path.dirname(target), STAGING_PREFIX + "old-" + os.path.basename(target))
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(target, aside)
    os.replace(source, target)
    shutil.rmtree(aside)


def _refuse_pickle_weights(folder: str | os.PathLike) -> None:
    path = Path(folder)
    if any((path / n).is_file() for n in (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME)):
        return
    for pickle_name in (WEIGHTS_NAME, WEIGHTS_INDEX_NAME):
        if (path / pickle_name).is_file():
            raise UnsafeCheckpointError(
                f"{path / pickle_name} is a pickle checkpoint and {path} has no {SAFE_WEIGHTS_NAME}: hf_decision "
                "resumes from safetensors weights only"
            )


OfflineRLTrainer = RLTrainer  # its former name; it also trains online DQN and on-policy REINFORCE
