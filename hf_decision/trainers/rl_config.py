"""Training arguments every hf_decision algorithm shares: `TrainingArguments` plus evaluation in the environment."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import torch
from transformers import TrainingArguments

logger = logging.getLogger(__name__)


@dataclass
class RLTrainingConfig(TrainingArguments):
    # --- evaluation in the environment ---
    eval_env_steps: int = field(
        default=0, metadata={"help": "Evaluate in the environment every N optimizer steps (0: never)."}
    )
    eval_env_episodes: int = field(default=10, metadata={"help": "Episodes per evaluation (and target return)."})
    eval_env_num_envs: int = field(default=10, metadata={"help": "Parallel environments during evaluation."})
    eval_target_returns: list[float] | None = field(
        default=None,
        metadata={"help": "Unscaled target returns to evaluate (Decision Transformer); default: the model config's."},
    )
    nonfinite_loss: str = field(
        default="raise",
        metadata={
            "help": "What a NaN/inf training loss does: 'raise' stops training with NonFiniteLossError naming the "
            "step and batch; 'skip' drops that batch's gradient (no parameter update from it) and logs the count "
            "of skipped batches as `nonfinite_skipped`."
        },
    )
    take_over_lock: bool = field(
        default=False,
        metadata={
            "help": "Take over the lock file another run left in output_dir (`.hf_decision-run.lock`). A lock of a "
            "dead process on this host is taken over anyway; use this for a run that died on another host, once "
            "you know it is gone: two live runs in one output_dir overwrite each other's checkpoints."
        },
    )
    resume_incomplete: bool = field(
        default=False,
        metadata={
            "help": "Resume from a checkpoint that lacks optimizer.pt, scheduler.pt or rng_state*.pth, with fresh "
            "state for what is missing (a warning names it). Default: refuse such a checkpoint, which cannot "
            "continue the run as it was."
        },
    )
    save_on_sigterm: bool = field(
        default=True,
        metadata={
            "help": "On SIGTERM (a preempted cluster job), save a checkpoint at the end of the optimizer step in "
            "progress, stop, then let the signal end the process. Only where training runs in the main thread."
        },
    )
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Kept False: batches are built by hf_decision, not from dataset columns."}
    )
    logging_steps: float = field(default=100, metadata={"help": "Log every N optimizer steps."})
    dataloader_pin_memory: bool = field(
        default_factory=lambda: torch.cuda.is_available(),
        metadata={
            "help": "Pin batches in page-locked memory for faster host-to-GPU copies; default: on where CUDA is "
            "available (on a CPU-only machine pinning does nothing but make torch warn)."
        },
    )

    def __post_init__(self):
        super().__post_init__()
        for name in ("eval_env_episodes", "eval_env_num_envs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.nonfinite_loss not in ("raise", "skip"):
            raise ValueError(f"nonfinite_loss must be 'raise' or 'skip', got {self.nonfinite_loss!r}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError(
                f"max_steps must be >= 1 (optimizer steps), or -1 to train num_train_epochs epochs; got "
                f"{self.max_steps}"
            )
        if self.eval_env_steps < 0:
            raise ValueError(f"eval_env_steps must be >= 0, got {self.eval_env_steps}")
        warmup = self.get_warmup_steps(self.max_steps) if self.max_steps > 0 else 0
        if warmup >= self.max_steps > 0 and self.learning_rate > 0:
            # a short run of a config made for a long one would train at a tiny fraction of its learning rate
            logger.warning(
                "warmup_steps=%d >= max_steps=%d: the learning rate never reaches %g (at the last step it is %.3g); "
                "lower --warmup_steps for a short run",
                warmup,
                self.max_steps,
                self.learning_rate,
                self.learning_rate * self.max_steps / warmup,
            )
