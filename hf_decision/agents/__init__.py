"""Agents: trained models wrapped for acting in environments (context, normalization, return-to-go bookkeeping)."""

from hf_decision.agents.decision_transformer import DecisionTransformerAgent
from hf_decision.agents.markov import MarkovAgent, PolicyAgent, QNetworkAgent, agent_for

__all__ = ["DecisionTransformerAgent", "MarkovAgent", "PolicyAgent", "QNetworkAgent", "agent_for"]
