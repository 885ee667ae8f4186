import numpy as np
import pytest

from hf_decision.tabular import (
    TabularModel,
    bellman_backup,
    greedy_policy,
    policy_evaluation,
    state_values,
    tabular_model,
    value_iteration,
)
from tests.tabular.conftest import ENVS, gym_transitions

# Two states, γ = 0.5. From state 1, action 0 ends the episode; action 1 of state 0 ends it half the time.
TINY_P = {
    0: {0: [(1.0, 1, 1.0, False)], 1: [(0.5, 0, 0.0, False), (0.5, 1, 2.0, True)]},
    1: {0: [(1.0, 1, 0.0, True)], 1: [(1.0, 0, 3.0, False)]},
}


def test_tabular_model_splits_continuing_and_terminating_outcomes():
    model = tabular_model(TINY_P)
    np.testing.assert_allclose(model.R, [[1.0, 1.0], [0.0, 3.0]])
    np.testing.assert_allclose(model.P, [[[0.0, 1.0], [0.5, 0.0]], [[0.0, 0.0], [1.0, 0.0]]])
    np.testing.assert_allclose(model.terminal, [[0.0, 0.5], [1.0, 0.0]])
    assert model.counts is None and model.known.all()


def test_value_iteration_matches_the_hand_computed_fixed_point():
    # V0 = 1 + γ V1, V1 = 3 + γ V0  =>  V0 = 10/3, V1 = 14/3; Q(0, 1) = ½ (0 + γ V0) + ½·2 = 11/6; Q(1, 0) = 0.
    Q, V = value_iteration(TINY_P, gamma=0.5)
    np.testing.assert_allclose(Q, [[10 / 3, 11 / 6], [0.0, 14 / 3]], atol=1e-9)
    np.testing.assert_allclose(V, [10 / 3, 14 / 3], atol=1e-9)
    np.testing.assert_array_equal(greedy_policy(Q), [0, 1])


def test_policy_evaluation_solves_the_linear_system_exactly():
    # π = (1, 1): V0 = 1 + ¼ V0 = 4/3, V1 = 3 + ½ V0 = 11/3.
    Q, V = policy_evaluation(TINY_P, np.array([1, 1]), gamma=0.5)
    np.testing.assert_allclose(V, [4 / 3, 11 / 3], atol=1e-12)
    np.testing.assert_allclose(Q, [[1 + 0.5 * 11 / 3, 4 / 3], [0.0, 11 / 3]], atol=1e-12)
    one_hot = np.eye(2)[[1, 1]]  # the same policy as probabilities π(a|s)
    np.testing.assert_allclose(policy_evaluation(TINY_P, one_hot, gamma=0.5)[1], V, atol=1e-12)
    with pytest.raises(ValueError, match="policy must be"):
        policy_evaluation(TINY_P, np.zeros(3, dtype=int), gamma=0.5)


@pytest.mark.parametrize("env_id", sorted(ENVS))
def test_value_iteration_satisfies_the_bellman_optimality_equation(env_id):
    env_kwargs, gamma = ENVS[env_id]
    P = gym_transitions(env_id, **env_kwargs)
    Q, V = value_iteration(P, gamma)
    # Residual straight from the env's outcome lists: Q(s, a) = Σ p (r + γ (1 − terminated) max_a' Q(s', a')).
    target = np.array(
        [
            [sum(p * (r + (0.0 if done else gamma * Q[s2].max())) for p, s2, r, done in P[s][a]) for a in P[s]]
            for s in P
        ]
    )
    assert np.abs(Q - target).max() < 1e-8
    np.testing.assert_array_equal(V, Q.max(axis=1))
    _, V_greedy = policy_evaluation(P, greedy_policy(Q), gamma)
    assert np.abs(V_greedy - V).max() < 1e-6


def test_unknown_pairs_get_minus_infinity_and_never_win_the_argmax():
    model = TabularModel(
        R=np.array([[-1.0, 0.0], [0.0, 0.0]]),
        P=np.zeros((2, 2, 2)),
        terminal=np.array([[1.0, 0.0], [0.0, 0.0]]),
        counts=np.array([[3, 0], [0, 0]]),
    )
    Q = bellman_backup(model, np.zeros(2), gamma=0.9)
    np.testing.assert_array_equal(Q, [[-1.0, -np.inf], [-np.inf, -np.inf]])
    np.testing.assert_array_equal(state_values(Q), [-1.0, 0.0])  # a state without data is worth 0
    np.testing.assert_array_equal(greedy_policy(Q), [0, 0])
    with pytest.raises(ValueError, match="state 0: the policy takes an action the model has no data for"):
        policy_evaluation(model, np.array([1, 0]), gamma=0.9)


def test_bad_models_are_refused():
    with pytest.raises(ValueError, match="state 0, action 1: the outcome probabilities sum to 0.5"):
        tabular_model({0: {0: [(1.0, 0, 0.0, True)], 1: [(0.5, 0, 0.0, False)]}})
    with pytest.raises(ValueError, match="next state 2 out of range"):
        tabular_model({0: {0: [(1.0, 2, 0.0, False)]}, 1: {0: [(1.0, 0, 0.0, True)]}})
    with pytest.raises(ValueError, match="gamma must lie in"):
        value_iteration(TINY_P, gamma=1.5)
    with pytest.raises(RuntimeError, match="did not reach"):
        value_iteration(TINY_P, gamma=0.99, max_iters=3)
