"""Collecting offline datasets: behaviour policies acting in gymnasium vector envs, the rollout that records them
in the canonical schema, and D4RL-style dataset families."""

from hf_decision.cards.dataset import dataset_card
from hf_decision.collection.collect import collect, push_collected, save_collected
from hf_decision.collection.d4rl_family import collect_d4rl_family
from hf_decision.collection.policies import RandomPolicy, SB3Policy, make_policy

__all__ = [
    "RandomPolicy",
    "SB3Policy",
    "collect",
    "collect_d4rl_family",
    "dataset_card",
    "make_policy",
    "push_collected",
    "save_collected",
]
