"""Agents: trained models wrapped for acting in environments (context, normalization, return-to-go bookkeeping)."""

from hf_decision.agents.base import Agent, agent_class_for, agent_for
from hf_decision.agents.decision_transformer import DecisionTransformerAgent
from hf_decision.agents.markov import MarkovAgent, PolicyAgent, QNetworkAgent

__all__ = [
    "Agent",
    "DecisionTransformerAgent",
    "MarkovAgent",
    "PolicyAgent",
    "QNetworkAgent",
    "agent_class_for",
    "agent_for",
]
