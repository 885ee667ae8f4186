import numpy as np
import pytest

from hf_decision.tabular import (
    TabularEpisodes,
    TabularTransitions,
    certainty_equivalence,
    estimate_model,
    fitted_q_iteration,
    monte_carlo_returns,
)
from tests.tabular.test_data import tabular_dataset

# Two states, two actions: ep 0 visits (0,0)→1, (1,1)→0, (0,1)→0, then is truncated in state 0 (that step has no
# next state and is left out); ep 1 visits (1,1)→1 and ends with (1,0), which terminates with reward 5.
TWO_STATE = dict(
    states=[0, 1, 0, 0, 1, 1],
    actions=[0, 1, 1, 0, 1, 0],
    rewards=[1, 2, 0, 9, 0, 5],
    terminals=[0, 0, 0, 0, 0, 1],
    timeouts=[0, 0, 0, 1, 0, 0],
    lengths=[4, 2],
)


def test_counts_rewards_and_normalized_transition_estimates():
    model = estimate_model(tabular_dataset(**TWO_STATE), n_states=2, n_actions=2)
    np.testing.assert_array_equal(model.counts, [[1, 1], [1, 2]])
    np.testing.assert_allclose(model.R, [[1.0, 0.0], [5.0, 1.0]])  # r̂(1, 1) = (2 + 0) / 2
    np.testing.assert_allclose(model.P, [[[0, 1], [1, 0]], [[0, 0], [0.5, 0.5]]])
    np.testing.assert_allclose(model.terminal, [[0, 0], [1, 0]])
    np.testing.assert_allclose(model.P.sum(axis=-1) + model.terminal, 1.0)


def test_unvisited_pairs_have_no_estimate():
    transitions = TabularTransitions([0, 0, 2], [1, 1, 0], [1.0, 3.0, 0.0], [2, 0, 0], [False, False, True])
    model = estimate_model(transitions, n_states=3, n_actions=2)
    np.testing.assert_allclose(model.P.sum(axis=-1) + model.terminal, [[0, 1], [0, 0], [1, 0]])
    np.testing.assert_allclose(model.P[0, 1], [0.5, 0, 0.5])
    Q, V = fitted_q_iteration(transitions, 3, 2, gamma=0.5, n_iters=50)
    assert np.isneginf(Q[[0, 1, 1, 2], [0, 0, 1, 1]]).all()
    # V(1) = 0 (no data), V(2) = Q(2, 0) = 0 and Q(0, 1) = ½ (1 + γ V(2)) + ½ (3 + γ V(0)) with V(0) = Q(0, 1): 8/3.
    np.testing.assert_allclose(Q[0, 1], 8 / 3)
    np.testing.assert_allclose(V, [8 / 3, 0.0, 0.0])


def test_fqi_reaches_the_hand_computed_fixed_point():
    # γ = ½: Q(1,0) = 5 (terminal), Q(0,0) = 1 + γ V1, Q(0,1) = γ V0, Q(1,1) = ½ [(2 + γ V0) + (0 + γ V1)].
    # V1 = 5, V0 = 3.5 is consistent: Q(1,1) = 1 + 8.5/4 = 3.125 < 5 and Q(0,1) = 1.75 < 3.5.
    Q, V = fitted_q_iteration(tabular_dataset(**TWO_STATE), n_states=2, n_actions=2, gamma=0.5, n_iters=100)
    np.testing.assert_allclose(Q, [[3.5, 1.75], [5.0, 3.125]], atol=1e-12)
    np.testing.assert_allclose(V, [3.5, 5.0], atol=1e-12)
    Q1, _ = fitted_q_iteration(tabular_dataset(**TWO_STATE), 2, 2, gamma=0.5, n_iters=1)
    np.testing.assert_allclose(Q1, [[1.0, 0.0], [5.0, 1.0]])  # one sweep from Q = 0: the mean rewards


def fqi_by_the_formula(t: TabularTransitions, n_states, n_actions, gamma, n_iters):
    """Q(s,a) ← 1/N Σ_i (r_i + γ V(s_{i+1})), a loop over transitions, as the seed writes it."""
    N = np.zeros((n_states, n_actions))
    for s, a in zip(t.states, t.actions, strict=True):
        N[s, a] += 1
    Q = np.where(N > 0, 0.0, -np.inf)
    for _ in range(n_iters):
        V = np.array([max(q for q in row if q > -np.inf) if (row > -np.inf).any() else 0.0 for row in Q])
        total = np.zeros((n_states, n_actions))
        for s, a, r, s2, done in zip(t.states, t.actions, t.rewards, t.next_states, t.terminations, strict=True):
            total[s, a] += r + (0.0 if done else gamma * V[s2])
        Q = np.where(N > 0, total / np.maximum(N, 1), -np.inf)
    return Q


def test_fqi_equals_the_per_transition_formula_and_its_limit_is_certainty_equivalence():
    rng = np.random.default_rng(0)
    n = 300
    t = TabularTransitions(
        states=rng.integers(0, 5, n),
        actions=rng.integers(0, 3, n),
        rewards=rng.normal(size=n),
        next_states=rng.integers(0, 5, n),
        terminations=rng.random(n) < 0.2,
    )
    for n_iters in (0, 1, 7):
        np.testing.assert_allclose(
            fitted_q_iteration(t, 5, 3, 0.8, n_iters)[0], fqi_by_the_formula(t, 5, 3, 0.8, n_iters), atol=1e-12
        )
    Q_fqi, V_fqi = fitted_q_iteration(t, 5, 3, gamma=0.8, n_iters=200)
    Q_ce, V_ce = certainty_equivalence(t, 5, 3, gamma=0.8)
    np.testing.assert_allclose(Q_fqi, Q_ce, atol=1e-9)
    np.testing.assert_allclose(V_fqi, V_ce, atol=1e-9)


def test_truncated_transitions_bootstrap_and_terminated_ones_do_not():
    # (1, 0) is worth 5 (terminal); (0, 0) → 1 with reward 1 is worth 1 + γ·5 unless it terminated.
    for terminated, expected in ((False, 1 + 0.5 * 5), (True, 1.0)):
        t = TabularTransitions([0, 1], [0, 0], [1.0, 5.0], [1, 1], [terminated, True])
        Q, _ = fitted_q_iteration(t, 2, 1, gamma=0.5, n_iters=10)
        assert Q[0, 0] == expected


def test_monte_carlo_returns_of_a_three_step_episode():
    # γ = ½, rewards 1, 2, 4 in (0,0), (1,0), (0,0): G_0 = 1 + 1 + 1 = 3, G_1 = 2 + 2 = 4, G_2 = 4.
    episodes = TabularEpisodes([0, 1, 0], [0, 0, 0], [1.0, 2.0, 4.0], [0, 0, 1], [3])
    Q_first = monte_carlo_returns(episodes, n_states=2, n_actions=2, gamma=0.5)
    np.testing.assert_allclose(Q_first, [[3.0, -np.inf], [4.0, -np.inf]])
    Q_every = monte_carlo_returns(episodes, 2, 2, gamma=0.5, first_visit=False)
    np.testing.assert_allclose(Q_every, [[3.5, -np.inf], [4.0, -np.inf]])


def test_monte_carlo_averages_over_episodes_and_reads_datasets():
    # From the dataset: ep 0 returns G = 1 + 2/2 + 0 + 9/8 in (0,0) first; ep 1: (1,1) gets 0 + 5/2, (1,0) gets 5.
    Q = monte_carlo_returns(tabular_dataset(**TWO_STATE), 2, 2, gamma=0.5)
    np.testing.assert_allclose(Q[0, 0], 1 + 1 + 9 / 8)
    np.testing.assert_allclose(Q[1], [5.0, (2 + 4.5 / 2 + 2.5) / 2])  # (1,1): ep 0 G_1 = 2 + ½·(0 + ½·9), ep 1 2.5
    with pytest.raises(ValueError, match="episode 1"):
        monte_carlo_returns(tabular_dataset(**{**TWO_STATE, "states": [0, 1, 0, 0, 1, 2]}), 2, 2, gamma=0.5)
