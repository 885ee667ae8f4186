"""The Online DT loss and its distributions against numbers computed by hand."""

import math

import pytest
import torch

from hf_decision.objectives import online_decision_loss
from hf_decision.objectives.online_decision import (
    categorical_entropy,
    categorical_log_prob,
    gaussian_entropy,
    gaussian_log_prob,
    squashed_gaussian_entropy,
    squashed_gaussian_log_prob,
    squashed_gaussian_sample,
)

LOG_N01_AT_HALF = -0.125 - 0.5 * math.log(2 * math.pi)  # log N(0.5; 0, 1)


def test_loss_is_nll_minus_temperature_times_entropy_plus_the_temperature_loss():
    log_prob = torch.tensor([[-1.0, -2.0], [-3.0, -50.0]], requires_grad=True)
    entropy = torch.tensor([[0.5, 1.0], [1.5, 9.0]], requires_grad=True)
    mask = torch.tensor([[1, 1], [1, 0]])  # the last step is padding: its -50 and 9 must not count
    log_temperature = torch.tensor(math.log(0.1), requires_grad=True)
    parts = online_decision_loss(log_prob, entropy, log_temperature, target_entropy=2.0, attention_mask=mask)
    # N = 3 real steps: NLL = (1 + 2 + 3) / 3 = 2, H = (0.5 + 1 + 1.5) / 3 = 1, λ = 0.1, β = 2
    # J_π = 2 − 0.1·1 = 1.9, J_λ = 0.1·(1 − 2) = −0.1
    assert parts.nll.item() == pytest.approx(2.0)
    assert parts.entropy.item() == pytest.approx(1.0)
    assert parts.temperature.item() == pytest.approx(0.1)
    assert parts.temperature_loss.item() == pytest.approx(-0.1)
    assert parts.loss.item() == pytest.approx(1.8)
    parts.loss.backward()
    # ∂/∂log λ of λ(H − β) = λ(H − β) = −0.1 (J_π holds λ fixed); ∂/∂H_t = −λ/N (J_λ holds H fixed)
    assert log_temperature.grad.item() == pytest.approx(-0.1)
    assert torch.allclose(entropy.grad, torch.tensor([[-0.1 / 3, -0.1 / 3], [-0.1 / 3, 0.0]]))
    assert torch.allclose(log_prob.grad, torch.tensor([[-1 / 3, -1 / 3], [-1 / 3, 0.0]]))


@pytest.mark.parametrize(("entropy", "direction"), [(0.5, 1), (3.0, -1)])
def test_the_temperature_moves_so_as_to_bring_the_entropy_to_its_target(entropy, direction):
    """Entropy below β = 1 raises λ (more weight on the entropy bonus); above β it lowers λ."""
    log_temperature = torch.nn.Parameter(torch.tensor(math.log(0.1)))
    optimizer = torch.optim.SGD([log_temperature], lr=0.5)
    temperatures = []
    for _ in range(20):
        optimizer.zero_grad()
        online_decision_loss(torch.zeros(1, 3), torch.full((1, 3), entropy), log_temperature, 1.0).loss.backward()
        optimizer.step()
        temperatures.append(log_temperature.exp().item())
    steps = torch.tensor(temperatures).diff()
    assert (steps * direction > 0).all()


def test_gaussian_log_prob_and_entropy_by_hand():
    mean, log_std = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.0, math.log(2.0)]])
    actions = torch.tensor([[0.5, 2.0]])
    # dim 0: N(0.5; 0, 1); dim 1: z = (2 − 1)/2 = 0.5, log N = −0.125 − log 2 − ½ log 2π
    expected = LOG_N01_AT_HALF + (LOG_N01_AT_HALF - math.log(2.0))
    assert gaussian_log_prob(mean, log_std, actions).item() == pytest.approx(expected)
    assert gaussian_entropy(log_std).item() == pytest.approx(2 * (0.5 + 0.5 * math.log(2 * math.pi)) + math.log(2))


def test_squashed_gaussian_log_prob_is_the_change_of_variables_by_hand():
    mean, log_std = torch.zeros(1, 1), torch.zeros(1, 1)
    action = torch.tensor([[math.tanh(0.5)]])
    # log π(tanh u) = log N(u; 0, 1) − log(1 − tanh² u), and 1 − tanh² u = 1 / cosh² u
    expected = LOG_N01_AT_HALF + 2 * math.log(math.cosh(0.5))
    assert squashed_gaussian_log_prob(mean, log_std, action).item() == pytest.approx(expected, abs=1e-6)
    # the one-sample entropy at ε = 0.5 is −log π(tanh 0.5); the sample is tanh(0.5)
    noise = torch.full((1, 1), 0.5)
    assert squashed_gaussian_entropy(mean, log_std, noise).item() == pytest.approx(-expected, abs=1e-6)
    assert squashed_gaussian_sample(mean, log_std, noise).item() == pytest.approx(math.tanh(0.5))


def test_squashed_gaussian_log_prob_stays_finite_at_the_action_bounds():
    log_prob = squashed_gaussian_log_prob(torch.zeros(2, 1), torch.zeros(2, 1), torch.tensor([[1.0], [-1.0]]))
    assert torch.isfinite(log_prob).all()


def test_categorical_log_prob_and_entropy_by_hand():
    logits = torch.tensor([[0.0, math.log(3.0)]])  # p = (1/4, 3/4)
    assert categorical_log_prob(logits, torch.tensor([1])).item() == pytest.approx(math.log(0.75))
    assert categorical_log_prob(logits, torch.tensor([0])).item() == pytest.approx(math.log(0.25))
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert categorical_entropy(logits).item() == pytest.approx(expected)
