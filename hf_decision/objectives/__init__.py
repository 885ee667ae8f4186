"""Loss functions as plain functions of tensors: the math of every algorithm, on one screen each."""

from hf_decision.objectives.decision import action_loss
from hf_decision.objectives.language import causal_lm_loss

__all__ = ["action_loss", "causal_lm_loss"]
