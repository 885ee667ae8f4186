"""Training configuration of REINFORCE (Williams 1992): on-policy episodes from a gymnasium env."""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_decision.objectives.policy_gradient import BASELINES
from hf_decision.trainers.rl_config import RLTrainingConfig


@dataclass
class ReinforceConfig(RLTrainingConfig):
    """`RLTrainingConfig` (transformers' `TrainingArguments`, evaluation in the environment) plus REINFORCE's knobs:
    the env and how many whole episodes each gradient step collects on-policy, γ, R(τ) or reward-to-go, the
    baseline and the entropy bonus."""

    env_id: str | None = field(default=None, metadata={"help": "The gymnasium env the policy is trained in."})
    num_envs: int = field(default=8, metadata={"help": "Parallel environments of episode collection."})
    episodes_per_batch: int = field(default=16, metadata={"help": "N: whole episodes per gradient step."})
    gamma: float = field(default=0.99, metadata={"help": "Discount γ of the returns."})
    reward_to_go: bool = field(
        default=True, metadata={"help": "Weight log π(a_h|s_h) by the reward-to-go G_h instead of R(τ)."}
    )
    baseline: str = field(
        default="mean",
        metadata={"help": f"Baseline subtracted from the weights: one of {BASELINES} ('learned' needs value_head)."},
    )
    entropy_coef: float = field(default=0.0, metadata={"help": "Entropy bonus coefficient."})
    value_coef: float = field(default=0.5, metadata={"help": "Weight of the value loss (baseline='learned')."})

    # --- transformers defaults changed to REINFORCE's ---
    learning_rate: float = field(default=1e-2, metadata={"help": "Adam learning rate."})
    weight_decay: float = field(default=0.0, metadata={"help": "Weight decay (linear weights only)."})
    lr_scheduler_type: str = field(default="constant", metadata={"help": "Learning-rate schedule."})
    max_grad_norm: float = field(
        default=0.0, metadata={"help": "Gradient-norm clipping; 0 keeps the plain REINFORCE step."}
    )
    logging_steps: float = field(default=10, metadata={"help": "Log every N gradient steps."})

    def __post_init__(self):
        super().__post_init__()
        if self.env_id is None:
            raise ValueError("env_id is required: REINFORCE collects its episodes from the environment")
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        for name in ("num_envs", "episodes_per_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_steps <= 0:
            raise ValueError("REINFORCE needs max_steps > 0: the episode stream has no epochs")
        if self.dataloader_num_workers:
            raise ValueError("REINFORCE collects in the training process: dataloader_num_workers must be 0")


PolicyGradientConfig = ReinforceConfig  # its former name
