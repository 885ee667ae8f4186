"""Trainers: `transformers.Trainer` subclasses that add each algorithm's loss, and little else."""

from hf_decision.trainers.base import OfflineRLTrainer, RLTrainer, parameter_groups
from hf_decision.trainers.callbacks import EnvironmentEvaluationCallback
from hf_decision.trainers.decision_config import DecisionTransformerTrainingConfig, cpu_has_fast_bf16
from hf_decision.trainers.decision_trainer import DecisionTransformerTrainer
from hf_decision.trainers.dqn_config import DQNConfig
from hf_decision.trainers.dqn_trainer import DQNTrainer
from hf_decision.trainers.online_decision_config import OnlineDecisionTransformerConfig
from hf_decision.trainers.online_decision_trainer import OnlineDecisionRollouts, OnlineDecisionTransformerTrainer
from hf_decision.trainers.reinforce_config import PolicyGradientConfig, ReinforceConfig
from hf_decision.trainers.reinforce_trainer import PolicyGradientTrainer, ReinforceTrainer
from hf_decision.trainers.rl_config import RLTrainingConfig

__all__ = [
    "cpu_has_fast_bf16",
    "DQNConfig",
    "DQNTrainer",
    "DecisionTransformerTrainer",
    "DecisionTransformerTrainingConfig",
    "EnvironmentEvaluationCallback",
    "OfflineRLTrainer",
    "OnlineDecisionRollouts",
    "OnlineDecisionTransformerConfig",
    "OnlineDecisionTransformerTrainer",
    "PolicyGradientConfig",
    "PolicyGradientTrainer",
    "RLTrainer",
    "ReinforceConfig",
    "ReinforceTrainer",
    "RLTrainingConfig",
    "parameter_groups",
]
