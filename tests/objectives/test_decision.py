import math

import pytest
import torch

from hf_decision.objectives import action_loss


def test_continuous_loss_is_mse_over_real_steps_and_dims():
    preds = torch.tensor([[[1.0, 2.0], [7.0, 7.0], [0.5, -0.5]]])
    targets = torch.tensor([[[0.0, 0.0], [0.0, 0.0], [0.0, 0.5]]])
    mask = torch.tensor([[1, 0, 1]])
    # real steps 0 and 2: (1 + 4 + 0.25 + 1) / (2 steps * 2 dims)
    assert action_loss(preds, targets, mask, "continuous").item() == pytest.approx(6.25 / 4)


def test_continuous_loss_without_mask_counts_every_step():
    preds = torch.tensor([[[1.0], [3.0]]])
    targets = torch.zeros(1, 2, 1)
    assert action_loss(preds, targets).item() == pytest.approx((1 + 9) / 2)


def test_discrete_loss_is_cross_entropy_over_real_steps():
    logits = torch.tensor([[[0.0, math.log(3.0)], [5.0, 0.0], [0.0, 0.0]]])
    targets = torch.tensor([[1, 0, 0]])
    mask = torch.tensor([[1, 0, 1]])
    # step 0: p(1) = 3/4; step 2: p(0) = 1/2; step 1 is padding
    expected = (-math.log(3 / 4) - math.log(1 / 2)) / 2
    assert action_loss(logits, targets, mask, "discrete").item() == pytest.approx(expected)


def test_padding_values_do_not_enter_the_loss():
    preds = torch.zeros(1, 2, 1)
    targets = torch.tensor([[[1e6], [2.0]]])
    assert action_loss(preds, targets, torch.tensor([[0, 1]])).item() == pytest.approx(4.0)


def test_unknown_action_space_raises():
    with pytest.raises(ValueError, match="action_space"):
        action_loss(torch.zeros(1, 1, 1), torch.zeros(1, 1, 1), None, "multibinary")
