"""Training configuration of the Online Decision Transformer's online phase (Zheng, Zhang, Grover 2022).

Defaults follow ODT's gym experiments where they carry over: a replay buffer of 1000 trajectories filled with the
best offline ones, one new trajectory per round, 300 gradient steps per round, exploration at a target return of
twice the evaluation one. The learning-rate warmup is off: the model arrives trained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_decision.trainers.decision_config import DecisionTransformerTrainingConfig


@dataclass
class OnlineDecisionTransformerConfig(DecisionTransformerTrainingConfig):
    """`DecisionTransformerTrainingConfig` plus online collection: each round rolls the stochastic policy out in
    `env_id` for `episodes_per_round` episodes at `exploration_target_return`, relabels and adds them to the
    trajectory replay buffer, then takes `gradient_steps_per_round` gradient steps on windows sampled from it."""

    env_id: str | None = field(
        default=None,
        metadata={"help": "The gymnasium env collected in (and of evaluations); default: the model config's env_id."},
    )
    num_envs: int = field(default=1, metadata={"help": "Parallel environments of online collection."})
    replay_size: int = field(
        default=1000,
        metadata={"help": "Trajectory replay buffer capacity (episodes); filled first with the best offline ones."},
    )
    episodes_per_round: int = field(default=1, metadata={"help": "Episodes collected per round (ODT: 1)."})
    gradient_steps_per_round: int = field(
        default=300, metadata={"help": "Gradient steps per round of collection (ODT: 300)."}
    )
    exploration_target_return: float | None = field(
        default=None,
        metadata={
            "help": "Unscaled target return the rollouts are conditioned on (ODT's online_rtg); default: twice the "
            "model config's first target return."
        },
    )
    ignore_data_skip: bool = field(
        default=True,
        metadata={
            "help": "Kept True: on resume the collector continues from its checkpointed state; transformers' skip of "
            "the batches already trained on would collect them again."
        },
    )
    warmup_steps: float = field(default=0, metadata={"help": "Linear warmup steps (or ratio if < 1)."})

    def __post_init__(self):
        super().__post_init__()
        for name in ("num_envs", "replay_size", "episodes_per_round", "gradient_steps_per_round"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.ignore_data_skip:
            raise ValueError("ignore_data_skip must stay True: the online collector resumes from its own state")
        if self.max_steps <= 0 or self.dataloader_num_workers:
            raise ValueError(
                "online fine-tuning needs max_steps > 0 (the collection stream has no epochs) and "
                f"dataloader_num_workers=0 (it collects in the training process), got {self.max_steps} and "
                f"{self.dataloader_num_workers}"
            )
