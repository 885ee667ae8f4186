"""Training configuration of DQN (Mnih et al. 2015), offline from a dataset or online in a gymnasium env.

Defaults follow Stable-Baselines3's DQN where it has one (Adam, lr 1e-4, batch 32, γ 0.99, gradient clipping 10,
ε from 1 to 0.05 over the first 10% of the env steps, a hard target update every 10k gradient steps); the RL Zoo's
tuned values per env are in `scripts/configs/dqn/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_decision.objectives.td import TD_LOSS_TYPES
from hf_decision.trainers.rl_config import RLTrainingConfig


@dataclass
class DQNConfig(RLTrainingConfig):
    """`RLTrainingConfig` (transformers' `TrainingArguments`, evaluation in the environment) plus DQN's knobs: the TD
    loss (γ, MSE or Huber, Double DQN), the target network's update, and for online training the ε-greedy
    collection into a replay buffer (used when the trainer gets no dataset; `env_id` also names the env of
    evaluations and of the model card)."""

    # --- the TD loss ---
    gamma: float = field(default=0.99, metadata={"help": "Discount γ of the TD target."})
    td_loss: str = field(default="mse", metadata={"help": f"TD loss: one of {TD_LOSS_TYPES}."})
    huber_delta: float = field(default=1.0, metadata={"help": "δ of the Huber loss (td_loss='huber')."})
    double_dqn: bool = field(
        default=False, metadata={"help": "Double DQN: the online network picks a', the target network values it."}
    )
    target_update_interval: int = field(
        default=10_000, metadata={"help": "Update the target network θ' every N gradient steps."}
    )
    tau: float = field(
        default=1.0, metadata={"help": "θ' ← τ·θ + (1 − τ)·θ' at each target update; 1 copies θ (a hard update)."}
    )

    # --- online collection (when the trainer gets no dataset) ---
    env_id: str | None = field(
        default=None,
        metadata={
            "help": "The gymnasium env: collected online (ε-greedy into a replay buffer) when no dataset is given, "
            "and the env of evaluations and of the model card."
        },
    )
    num_envs: int = field(default=1, metadata={"help": "Parallel environments of online collection."})
    buffer_size: int = field(default=1_000_000, metadata={"help": "Replay buffer capacity (transitions)."})
    learning_starts: int = field(default=100, metadata={"help": "Random env steps before the first gradient step."})
    train_frequency: int = field(default=4, metadata={"help": "Env steps collected per round of gradient steps."})
    gradient_steps: int = field(default=1, metadata={"help": "Gradient steps per round of collection."})
    exploration_fraction: float = field(
        default=0.1, metadata={"help": "Fraction of the run's env steps over which ε decays linearly."}
    )
    exploration_initial_eps: float = field(default=1.0, metadata={"help": "ε at the start of online collection."})
    exploration_final_eps: float = field(default=0.05, metadata={"help": "ε after the decay."})

    # --- transformers defaults changed to DQN's ---
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Transitions per gradient step."})
    learning_rate: float = field(default=1e-4, metadata={"help": "Adam learning rate."})
    weight_decay: float = field(default=0.0, metadata={"help": "Weight decay (linear weights only)."})
    lr_scheduler_type: str = field(default="constant", metadata={"help": "Learning-rate schedule."})
    max_grad_norm: float = field(default=10.0, metadata={"help": "Gradient-norm clipping."})

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.td_loss not in TD_LOSS_TYPES:
            raise ValueError(f"td_loss must be one of {TD_LOSS_TYPES}, got {self.td_loss!r}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        for name in ("target_update_interval", "num_envs", "buffer_size", "train_frequency", "gradient_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("exploration_fraction", "exploration_initial_eps", "exploration_final_eps"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    @property
    def total_env_steps(self) -> int:
        """The env steps an online run of `max_steps` gradient steps collects."""
        rounds = -(-self.max_steps // self.gradient_steps)
        return self.learning_starts + rounds * self.train_frequency
