import pytest
import torch

from hf_decision.objectives import td_loss, td_target


def test_td_target_hand_computed():
    rewards = torch.tensor([1.0, 0.0, 2.0])
    dones = torch.tensor([0.0, 1.0, 0.0])
    next_q = torch.tensor([[0.5, 3.0], [10.0, 20.0], [-1.0, -2.0]])
    # y = r + γ(1 − done) max_a' Q_θ'(s', a'), γ = 0.5
    assert torch.equal(td_target(rewards, dones, next_q, 0.5), torch.tensor([1 + 0.5 * 3.0, 0.0, 2 + 0.5 * -1.0]))


def test_double_dqn_target_values_the_online_argmax_with_the_target_network():
    rewards, dones = torch.zeros(2), torch.zeros(2)
    next_q_target = torch.tensor([[1.0, 5.0], [7.0, 2.0]])
    next_q_online = torch.tensor([[9.0, 0.0], [0.0, 9.0]])  # picks action 0, then action 1
    assert torch.equal(td_target(rewards, dones, next_q_target, 1.0, next_q_online), torch.tensor([1.0, 2.0]))


def test_td_loss_hand_computed_mse_and_huber():
    q = torch.tensor([1.0, 2.0, 0.0])
    y = torch.tensor([0.0, 2.0, 3.0])
    assert td_loss(q, y).item() == pytest.approx((1 + 0 + 9) / 3)
    # Huber δ = 1: ½x² for |x| ≤ 1, |x| − ½ beyond
    assert td_loss(q, y, "huber").item() == pytest.approx((0.5 + 0 + 2.5) / 3)
    with pytest.raises(ValueError, match="loss_type"):
        td_loss(q, y, "l1")


def test_td_target_carries_no_gradient():
    next_q = torch.tensor([[1.0, 2.0]], requires_grad=True)
    assert not td_target(torch.zeros(1), torch.zeros(1), next_q, 0.9).requires_grad
