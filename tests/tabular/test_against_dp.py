"""Estimates from data against exact dynamic programming on the env's own model (`env.unwrapped.P`)."""

import numpy as np
import pytest

from hf_decision.collection import collect
from hf_decision.tabular import (
    certainty_equivalence,
    estimate_model,
    fitted_q_iteration,
    greedy_policy,
    monte_carlo_returns,
    policy_evaluation,
    value_iteration,
)
from tests.tabular.conftest import ENVS, gym_transitions, sample_transitions

N_ITERS = 800  # FQI sweeps: γ^800 · max |Q*| < 1e-12 for γ ≤ 0.95


def greedy_value_gap(P, Q, gamma, V_star, states=None):
    """max_s V*(s) − V^π(s) for π = greedy(Q), by exact policy evaluation on the true model."""
    _, V_pi = policy_evaluation(P, greedy_policy(Q), gamma)
    gap = V_star - V_pi
    return gap.max() if states is None else gap[states].max()


@pytest.mark.parametrize("env_id", ["CliffWalking-v1", "Taxi-v4"])
def test_fqi_on_every_pair_of_a_deterministic_env_recovers_q_star(env_id):
    env_kwargs, gamma = ENVS[env_id]
    P = gym_transitions(env_id, **env_kwargs)
    Q_star, V_star = value_iteration(P, gamma)
    data = sample_transitions(P, n_per_pair=1)
    Q, _ = fitted_q_iteration(data, len(P), len(P[0]), gamma, N_ITERS)
    assert np.abs(Q - Q_star).max() < 1e-6
    assert greedy_value_gap(P, Q, gamma, V_star) < 1e-6


def test_fqi_on_slippery_frozenlake_is_near_q_star_and_its_greedy_policy_optimal():
    env_kwargs, gamma = ENVS["FrozenLake-v1"]
    P = gym_transitions("FrozenLake-v1", **env_kwargs)
    Q_star, V_star = value_iteration(P, gamma)
    data = sample_transitions(P, n_per_pair=100_000)  # 6.4M transitions
    Q, _ = fitted_q_iteration(data, 16, 4, gamma, N_ITERS)
    assert np.abs(Q - Q_star).max() < 4e-3  # 2.5e-3 measured: the sampling error of P̂ at N(s, a) = 1e5
    assert greedy_value_gap(P, Q, gamma, V_star) < 1e-6


@pytest.mark.slow
def test_fqi_on_slippery_frozenlake_reaches_1e_3_with_enough_data():
    env_kwargs, gamma = ENVS["FrozenLake-v1"]
    P = gym_transitions("FrozenLake-v1", **env_kwargs)
    Q_star, V_star = value_iteration(P, gamma)
    data = sample_transitions(P, n_per_pair=1_000_000)  # 64M transitions: ~20 s and ~5 GB of memory
    Q, _ = fitted_q_iteration(data, 16, 4, gamma, N_ITERS)
    assert np.abs(Q - Q_star).max() < 1e-3  # 4.0e-4 measured; 1.3e-3 at 400k per pair
    assert greedy_value_gap(P, Q, gamma, V_star) < 1e-6


@pytest.mark.parametrize(
    ("env_id", "env_kwargs"),
    [("FrozenLake-v1", {"is_slippery": False}), ("CliffWalking-v1", {"max_episode_steps": 100})],
)
def test_fqi_on_a_collected_dataset_of_a_deterministic_env_is_exact_where_visited(env_id, env_kwargs):
    gamma = 0.9
    P = gym_transitions(env_id, **{k: v for k, v in env_kwargs.items() if k != "max_episode_steps"})
    Q_star, V_star = value_iteration(P, gamma)
    dataset = collect(env_id, "random", num_steps=20_000, num_envs=8, seed=0, env_kwargs=env_kwargs)
    S, A = len(P), len(P[0])
    Q, V = fitted_q_iteration(dataset, S, A, gamma, N_ITERS)
    visited = estimate_model(dataset, S, A).counts > 0
    np.testing.assert_array_equal(np.isfinite(Q), visited)
    assert visited.any(axis=1).sum() >= (11 if env_id.startswith("Frozen") else 36)  # every non-terminal state
    assert np.abs(Q - Q_star)[visited].max() < 1e-6
    assert greedy_value_gap(P, Q, gamma, V_star, states=visited.any(axis=1)) < 1e-6


def test_estimates_on_a_collected_slippery_frozenlake_dataset():
    env_kwargs, gamma = ENVS["FrozenLake-v1"]
    P = gym_transitions("FrozenLake-v1", **env_kwargs)
    Q_star, _ = value_iteration(P, gamma)
    dataset = collect("FrozenLake-v1", "random", num_steps=50_000, num_envs=8, seed=0, env_kwargs=env_kwargs)
    counts = estimate_model(dataset, 16, 4).counts
    Q, _ = fitted_q_iteration(dataset, 16, 4, gamma, N_ITERS)
    Q_model, _ = certainty_equivalence(dataset, 16, 4, gamma)
    np.testing.assert_allclose(Q, Q_model, atol=1e-8)  # FQI's fixed point is value iteration on (r̂, P̂)
    assert np.abs(Q - Q_star)[counts >= 1000].max() < 0.02  # 3.8e-3 measured (sampling error of P̂)
    # Monte Carlo estimates the behaviour policy's Q^μ (uniform), not Q*.
    Q_mu, _ = policy_evaluation(P, np.full((16, 4), 0.25), gamma)
    Q_mc = monte_carlo_returns(dataset, 16, 4, gamma)
    np.testing.assert_array_equal(np.isfinite(Q_mc), counts > 0)
    mc_error = np.abs(Q_mc - Q_mu)[counts >= 1000].max()
    assert mc_error < 0.01  # 1.7e-3 measured
    assert np.abs(Q_mc - Q_star)[counts >= 1000].max() > 10 * mc_error  # 0.084 measured
