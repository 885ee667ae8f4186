"""Tabular baselines on toy-text envs (numpy only, no Trainer): exact dynamic programming on a known model, and
fitted Q iteration, certainty equivalence and Monte Carlo estimates from offline data in the canonical schema.

Collect a dataset with `hf_decision.collection.collect(env_id, "random", ...)`: a Discrete observation is stored as a
1-dim state holding its index, which `TabularEpisodes.from_dataset` reads back as an integer.
"""

from hf_decision.tabular.data import TabularEpisodes, TabularTransitions, as_episodes, as_transitions
from hf_decision.tabular.estimators import (
    certainty_equivalence,
    estimate_model,
    fitted_q_iteration,
    monte_carlo_returns,
)
from hf_decision.tabular.model import (
    TabularModel,
    bellman_backup,
    greedy_policy,
    policy_evaluation,
    state_values,
    tabular_model,
    value_iteration,
)

__all__ = [
    "TabularEpisodes",
    "TabularModel",
    "TabularTransitions",
    "as_episodes",
    "as_transitions",
    "bellman_backup",
    "certainty_equivalence",
    "estimate_model",
    "fitted_q_iteration",
    "greedy_policy",
    "monte_carlo_returns",
    "policy_evaluation",
    "state_values",
    "tabular_model",
    "value_iteration",
]
