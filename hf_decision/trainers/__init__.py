"""Trainers: `transformers.Trainer` subclasses that add each algorithm's loss, and little else."""

from hf_decision.trainers.base import OfflineRLTrainer, parameter_groups
from hf_decision.trainers.callbacks import EnvironmentEvaluationCallback
from hf_decision.trainers.decision_config import DecisionTransformerTrainingConfig
from hf_decision.trainers.decision_trainer import DecisionTransformerTrainer

__all__ = [
    "DecisionTransformerTrainer",
    "DecisionTransformerTrainingConfig",
    "EnvironmentEvaluationCallback",
    "OfflineRLTrainer",
    "parameter_groups",
]
