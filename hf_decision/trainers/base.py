"""What every hf_decision trainer shares on top of `transformers.Trainer`: loss parts in the logs and AdamW groups."""

from __future__ import annotations

import logging
import os
from collections import defaultdict

import torch
from torch import nn
from transformers import Trainer
from transformers.pytorch_utils import Conv1D
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

logger = logging.getLogger(__name__)

NO_DECAY_MODULES = (nn.LayerNorm, nn.Embedding)


def parameter_groups(
    model: nn.Module,
    weight_decay: float,
    learning_rate: float,
    backbone_learning_rate: float | None = None,
    backbone_prefix: str = "transformer.",
) -> list[dict]:
    """AdamW parameter groups: weight decay only on the weights of linear layers (no decay on biases, LayerNorm and
    embeddings), and an optional separate learning rate for the parameters under `backbone_prefix`.

    Tied parameters appear once. Empty groups are dropped.
    """
    no_decay: set[int] = set()
    for module in model.modules():
        if isinstance(module, NO_DECAY_MODULES):
            no_decay.update(id(p) for p in module.parameters(recurse=False))
        elif isinstance(module, (nn.Linear, Conv1D)) and module.bias is not None:
            no_decay.add(id(module.bias))
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = defaultdict(list)
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
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


class OfflineRLTrainer(Trainer):
    """A `Trainer` whose `compute_loss` may record named loss parts; each part is logged, averaged over the logging
    window, next to the total `loss`. The optimizer uses `parameter_groups` (with `args.backbone_learning_rate`
    when the arguments define it).

    State that lives outside the model and optimizer (a text stream's position, a target network, a replay buffer)
    goes into checkpoints through `save_extra_state` / `load_extra_state`, which subclasses override.
    """

    # compute_loss returns a per-batch mean: the Trainer divides it by the gradient accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        self._loss_parts: dict[str, list[torch.Tensor]] = defaultdict(list)

    def record_loss_parts(self, **parts: torch.Tensor) -> None:
        """Keep detached loss parts of one micro-batch for the next log (no device sync here)."""
        if self.model.training:
            for name, value in parts.items():
                self._loss_parts[name].append(value.detach().float())

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._loss_parts:
            for name, values in self._loss_parts.items():
                logs[name] = round(torch.stack(values).mean().item(), 6)
            self._loss_parts.clear()
        super().log(logs, start_time)

    def record_metrics(self, **metrics: float) -> None:
        """Keep scalar metrics (e.g. returns of online episodes) for the next log, averaged like loss parts."""
        if self.model.training:
            for name, value in metrics.items():
                self._loss_parts[name].append(torch.tensor(float(value)))

    def save_extra_state(self, folder: str) -> None:
        """Write the subclass's extra training state into checkpoint `folder` (the main process only)."""

    def load_extra_state(self, folder: str) -> None:
        """Restore what `save_extra_state` wrote when resuming from checkpoint `folder`."""

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            run_dir = self._get_output_dir(trial=trial)
            self.save_extra_state(os.path.join(run_dir, f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"))

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs):
        if resume_from_checkpoint:
            folder = resume_from_checkpoint
            if folder is True:
                folder = get_last_checkpoint(self.args.output_dir)
                if folder is None:
                    raise ValueError(f"resume_from_checkpoint=True but {self.args.output_dir} has no checkpoint")
            self.load_extra_state(folder)
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

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
