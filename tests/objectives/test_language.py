import math

import pytest
import torch

from hf_decision.objectives import causal_lm_loss


def test_uniform_logits_give_log_vocab():
    logits = torch.zeros(2, 5, 7)
    labels = torch.randint(0, 7, (2, 5))
    assert causal_lm_loss(logits, labels).item() == pytest.approx(math.log(7))


def test_position_t_predicts_token_t_plus_1():
    # vocab of 2; position 0 puts probability 3/4 on token 1, position 1 puts 1/2 on each.
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0], [9.0, -9.0]]])
    labels = torch.tensor([[0, 1, 0]])  # targets: labels[1]=1 from position 0, labels[2]=0 from position 1
    expected = (-math.log(3 / 4) - math.log(1 / 2)) / 2
    assert causal_lm_loss(logits, labels).item() == pytest.approx(expected)


def test_ignored_labels_are_not_predicted():
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0], [0.0, 0.0]]])
    labels = torch.tensor([[0, 1, -100]])
    assert causal_lm_loss(logits, labels).item() == pytest.approx(-math.log(3 / 4))
