import numpy as np
import pytest

from hf_decision.objectives.returns import discounted_returns_to_go


def test_undiscounted_returns_to_go_by_hand():
    rewards = np.array([1.0, 2.0, 3.0, 10.0, 20.0])
    np.testing.assert_array_equal(discounted_returns_to_go(rewards, np.array([3, 2])), [6.0, 5.0, 3.0, 30.0, 20.0])


def test_discounted_returns_to_go_by_hand():
    rewards = np.array([1.0, 2.0, 4.0, 8.0])
    # episode [1, 2, 4]: 4; 2 + 0.5*4 = 4; 1 + 0.5*4 = 3; episode [8]: 8
    np.testing.assert_allclose(discounted_returns_to_go(rewards, np.array([3, 1]), 0.5), [3.0, 4.0, 4.0, 8.0])


def test_gamma_outside_unit_interval_raises():
    with pytest.raises(ValueError, match="gamma"):
        discounted_returns_to_go(np.ones(2), np.array([2]), 1.5)
