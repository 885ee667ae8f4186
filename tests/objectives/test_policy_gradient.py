import pytest
import torch

from hf_decision.objectives import discounted_reward_to_go, policy_gradient_weights, reinforce_loss

# two episodes: rewards (1, 2, 3) and (4, 5)
REWARDS = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
EPISODE = torch.tensor([0, 0, 0, 1, 1])
TIMESTEPS = torch.tensor([0, 1, 2, 0, 1])


def test_reward_to_go_restarts_at_each_episode():
    expected = torch.tensor([1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0, 4 + 0.5 * 5, 5.0])
    assert torch.allclose(discounted_reward_to_go(REWARDS, EPISODE, 0.5), expected)


def test_trajectory_return_weights_every_step_of_the_episode():
    weights, _ = policy_gradient_weights(REWARDS, EPISODE, TIMESTEPS, 0.5, reward_to_go=False)
    assert torch.allclose(weights, torch.tensor([2.75, 2.75, 2.75, 6.5, 6.5]))


def test_mean_baseline_is_the_per_timestep_average_over_episodes():
    weights, returns = policy_gradient_weights(REWARDS, EPISODE, TIMESTEPS, 1.0, baseline="mean")
    # G = (6, 5, 3, 9, 5); b_0 = 7.5, b_1 = 5, b_2 = 3
    assert torch.allclose(returns, torch.tensor([6.0, 5.0, 3.0, 9.0, 5.0]))
    assert torch.allclose(weights, torch.tensor([-1.5, 0.0, 0.0, 1.5, 0.0]))


def test_learned_baseline_subtracts_detached_values():
    values = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0], requires_grad=True)
    weights, _ = policy_gradient_weights(REWARDS, EPISODE, TIMESTEPS, 1.0, baseline="learned", values=values)
    assert torch.allclose(weights, torch.tensor([5.0, 4.0, 2.0, 8.0, 4.0]))
    assert not weights.requires_grad
    with pytest.raises(ValueError, match="value head"):
        policy_gradient_weights(REWARDS, EPISODE, TIMESTEPS, 1.0, baseline="learned")


def test_reinforce_gradient_equals_the_analytic_softmax_gradient():
    """π_θ(a|s) = softmax(θ_s): ∇_θ log π(a|s) = onehot(a) − π(·|s) in row s, so the loss gradient is
    −1/N Σ_i R(τ_i) Σ_h (onehot(a_h) − π(·|s_h)) placed in row s_h."""
    torch.manual_seed(0)
    theta = torch.randn(3, 2, requires_grad=True)
    states = torch.tensor([0, 1, 2, 1, 0])
    actions = torch.tensor([1, 0, 1, 1, 0])
    weights, _ = policy_gradient_weights(REWARDS, EPISODE, TIMESTEPS, 1.0, reward_to_go=False)
    log_probs = torch.log_softmax(theta[states], dim=-1).gather(1, actions[:, None]).squeeze(1)
    reinforce_loss(log_probs, weights, num_episodes=2).backward()

    probs = torch.softmax(theta.detach(), dim=-1)
    expected = torch.zeros(3, 2)
    for s, a, w in zip(states.tolist(), actions.tolist(), weights.tolist(), strict=True):
        expected[s] -= w * (torch.nn.functional.one_hot(torch.tensor(a), 2) - probs[s]) / 2
    assert torch.allclose(theta.grad, expected, atol=1e-6)
