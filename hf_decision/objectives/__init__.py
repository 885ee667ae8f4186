"""Loss functions as plain functions of tensors: the math of every algorithm, on one screen each."""

from hf_decision.objectives.decision import action_loss
from hf_decision.objectives.language import causal_lm_loss
from hf_decision.objectives.online_decision import OnlineDecisionLoss, online_decision_loss
from hf_decision.objectives.policy_gradient import discounted_reward_to_go, policy_gradient_weights, reinforce_loss
from hf_decision.objectives.returns import discounted_returns_to_go
from hf_decision.objectives.td import td_loss, td_target

__all__ = [
    "OnlineDecisionLoss",
    "action_loss",
    "causal_lm_loss",
    "discounted_reward_to_go",
    "discounted_returns_to_go",
    "online_decision_loss",
    "policy_gradient_weights",
    "reinforce_loss",
    "td_loss",
    "td_target",
]
