"""ONNX agents act as the eager agents do, step for step over whole episodes (CartPole, Pendulum, Hopper)."""

import importlib.util

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from hf_decision import DecisionTransformerConfig, DecisionTransformerModel  # noqa: E402
from hf_decision.agents import DecisionTransformerAgent, PolicyAgent, QNetworkAgent  # noqa: E402
from hf_decision.evaluation import rollout  # noqa: E402
from hf_decision.export import (  # noqa: E402
    OnnxDecisionTransformerAgent,
    OnnxPolicyAgent,
    OnnxQNetworkAgent,
    export_onnx,
    load_onnx_agent,
    max_abs_difference,
)
from hf_decision.models import PolicyConfig, PolicyModel, QNetworkConfig, QNetworkModel  # noqa: E402
from tests.conftest import tiny_cartpole_model  # noqa: E402

HAS_MUJOCO = importlib.util.find_spec("mujoco") is not None


class Lockstep:
    """Acts in the env with the eager agent's actions; asks the ONNX agent for its action on every same observation
    (same rewards, same episode ends) and records how far apart the two are."""

    def __init__(self, eager, exported):
        self.eager, self.exported = eager, exported
        self.differences: list[float] = []

    def act(self, observations):
        expected, actual = self.eager.act(observations), self.exported.act(observations)
        assert actual.shape == expected.shape and actual.dtype == expected.dtype
        self.differences.append(float(np.abs(actual.astype(np.float64) - expected).max()))
        return expected

    def observe(self, rewards, dones=None):
        self.eager.observe(rewards, dones)
        self.exported.observe(rewards, dones)


def lockstep(make_eager, make_exported, env_id, n_episodes=4, num_envs=2, seed=0) -> tuple[Lockstep, dict]:
    pairs = []

    def make(n):
        pairs.append(Lockstep(make_eager(n), make_exported(n)))
        return pairs[-1]

    result = rollout(make, env_id, n_episodes=n_episodes, num_envs=num_envs, seed=seed)
    return pairs[0], result


def continuous_dt(env_id, state_dim, act_dim, max_ep_len, target, return_scale):
    torch.manual_seed(0)
    config = DecisionTransformerConfig(
        state_dim=state_dim,
        act_dim=act_dim,
        context_length=5,
        max_ep_len=max_ep_len,
        hidden_size=16,
        n_layer=2,
        n_head=2,
        vocab_size=16,
        n_positions=64,
        env_id=env_id,
        target_returns=[target],
        return_scale=return_scale,
        state_mean=np.linspace(-0.5, 0.5, state_dim).tolist(),
        state_std=np.linspace(0.5, 2.0, state_dim).tolist(),
    )
    return DecisionTransformerModel(config).eval()


def test_dt_agent_takes_the_eager_actions_over_whole_cartpole_episodes(tmp_path):
    model = tiny_cartpole_model(state_mean=[0.0, 0.1, 0.0, -0.1], state_std=[0.5, 1.0, 0.2, 1.5])
    path = export_onnx(model, tmp_path / "model.onnx")
    pair, result = lockstep(
        lambda n: DecisionTransformerAgent(model, num_envs=n),
        lambda n: OnnxDecisionTransformerAgent(path, num_envs=n),
        "CartPole-v1",
    )
    assert max(pair.differences) == 0  # identical discrete actions
    assert len(pair.differences) >= result["lengths"].max() > 5  # whole episodes, longer than the K = 5 window
    alone = rollout(lambda n: OnnxDecisionTransformerAgent(path, num_envs=n), "CartPole-v1", n_episodes=4, num_envs=2)
    assert np.array_equal(alone["returns"], result["returns"])


@pytest.mark.parametrize(
    "env_id, state_dim, act_dim, max_ep_len, target, return_scale",
    [
        ("Pendulum-v1", 3, 1, 200, -200.0, 100.0),
        pytest.param(
            "Hopper-v5",
            11,
            3,
            1000,
            3600.0,
            1000.0,
            marks=pytest.mark.skipif(not HAS_MUJOCO, reason="Hopper-v5 needs MuJoCo (the `mujoco` extra)"),
        ),
    ],
)
def test_dt_agent_takes_the_eager_actions_over_whole_continuous_episodes(
    tmp_path, env_id, state_dim, act_dim, max_ep_len, target, return_scale
):
    model = continuous_dt(env_id, state_dim, act_dim, max_ep_len, target, return_scale)
    path = export_onnx(model, tmp_path / "model.onnx")
    pair, result = lockstep(
        lambda n: DecisionTransformerAgent(model, num_envs=n),
        lambda n: OnnxDecisionTransformerAgent(path, num_envs=n),
        env_id,
        n_episodes=2,  # one 200-step wave on Pendulum: time-limited, every episode is full length
    )
    assert max(pair.differences) <= 1e-5
    assert result["lengths"].max() > 5


@pytest.mark.parametrize("action_space", ["discrete", "continuous"])
def test_mlp_agents_take_the_eager_actions_over_whole_episodes(tmp_path, action_space):
    torch.manual_seed(0)
    if action_space == "discrete":
        env_id, statistics = "CartPole-v1", dict(state_mean=[0.0, 0.1, 0.0, -0.1], state_std=[0.5, 1.0, 0.2, 1.5])
        models = {
            "q": QNetworkModel(QNetworkConfig(state_dim=4, num_actions=2, hidden_sizes=[16], **statistics)),
            "policy": PolicyModel(PolicyConfig(state_dim=4, act_dim=2, hidden_sizes=[16], **statistics)),
        }
    else:
        env_id = "Pendulum-v1"
        config = PolicyConfig(state_dim=3, act_dim=1, action_space="continuous", hidden_sizes=[16])
        models = {"policy": PolicyModel(config)}
    eager_agents = {"q": QNetworkAgent, "policy": PolicyAgent}
    onnx_agents = {"q": OnnxQNetworkAgent, "policy": OnnxPolicyAgent}
    for name, model in models.items():
        path = export_onnx(model, tmp_path / f"{name}.onnx")
        pair, result = lockstep(
            lambda n, model=model, name=name: eager_agents[name](model, num_envs=n),
            lambda n, path=path, name=name: onnx_agents[name](path, num_envs=n),
            env_id,
            n_episodes=3,
        )
        assert max(pair.differences) <= (0 if action_space == "discrete" else 1e-5), name
        assert result["lengths"].min() > 1


def test_load_onnx_agent_picks_the_agent_for_the_file(tmp_path):
    dt = tiny_cartpole_model()
    dt.save_pretrained(tmp_path / "dt")
    export_onnx(dt, tmp_path / "dt" / "model.onnx")
    q_path = export_onnx(QNetworkModel(QNetworkConfig(state_dim=4, num_actions=2)), tmp_path / "q.onnx")
    agent = load_onnx_agent(tmp_path / "dt", num_envs=2, target_return=300.0)  # a folder with model.onnx
    assert isinstance(agent, OnnxDecisionTransformerAgent) and agent.context.target.tolist() == pytest.approx(
        [0.3, 0.3]
    )  # / return_scale 1000
    assert agent.name == "decision-transformer-onnx(target_return=300.0)"
    assert isinstance(load_onnx_agent(q_path), OnnxQNetworkAgent)
    with pytest.raises(ValueError, match="holds a 'hf_decision_q_network' model"):
        OnnxDecisionTransformerAgent(q_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="hf-decision-export"):
        OnnxQNetworkAgent.from_pretrained(tmp_path / "empty")


def test_unbatched_act_with_last_reward_matches_the_eager_agent(tmp_path):
    model = tiny_cartpole_model()
    path = export_onnx(model, tmp_path / "model.onnx")
    eager, exported = DecisionTransformerAgent(model), OnnxDecisionTransformerAgent.from_pretrained(path)
    rng = np.random.default_rng(0)
    reward = None
    for _ in range(8):
        observation = rng.normal(size=4).astype(np.float32)
        expected, actual = eager.act(observation, reward), exported.act(observation, reward)
        assert actual.shape == () and actual == expected
        reward = float(rng.uniform(0, 2))
    assert torch.equal(exported.context.returns_to_go, eager.returns_to_go)
    assert torch.equal(exported.context.timesteps, eager.timesteps)


def test_max_abs_difference_is_small_and_sees_a_different_model(tmp_path):
    model = tiny_cartpole_model()
    path = export_onnx(model, tmp_path / "model.onnx")
    assert max_abs_difference(model, path) <= 1e-5
    other = tiny_cartpole_model()
    with torch.no_grad():
        other.predict_action.bias += 1.0
    assert max_abs_difference(other, path) == pytest.approx(1.0, abs=1e-4)
