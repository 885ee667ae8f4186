"""Agents: trained models wrapped for acting in environments (context, normalization, return-to-go bookkeeping)."""

from hf_decision.agents.decision_transformer import DecisionTransformerAgent

__all__ = ["DecisionTransformerAgent"]
