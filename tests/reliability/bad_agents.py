"""Bad-input cases of agents and evaluation: observations an agent must not act on, targets it must not condition
on, and models that do not fit the environment. `CASES` joins the table of `test_bad_input.py`."""

from __future__ import annotations

import numpy as np

from hf_decision import DecisionTransformerModel, QNetworkConfig, QNetworkModel
from hf_decision.agents import DecisionTransformerAgent, QNetworkAgent
from hf_decision.evaluation import evaluate
from tests.conftest import tiny_cartpole_model, tiny_dt_config
from tests.reliability.cases import Case

NAN = float("nan")


def dt_act(observations, num_envs: int = 1, **config):
    """A tiny DT agent (state_dim 4) acting on `observations`."""
    agent = DecisionTransformerAgent(tiny_cartpole_model(**config), num_envs=num_envs)
    return agent.act(np.asarray(observations, dtype=np.float32))


def dqn_act(observations, num_envs: int):
    model = QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[8]))
    return QNetworkAgent(model, num_envs=num_envs).act(np.asarray(observations))


def continuous_dt(**changes) -> DecisionTransformerModel:
    """A tiny continuous DT whose config fits Pendulum-v1 (3 observation values, 1 action value) unless changed."""
    config = dict(state_dim=3, act_dim=1, max_ep_len=200, target_returns=[0.0], env_id="Pendulum-v1")
    return DecisionTransformerModel(tiny_dt_config(**{**config, **changes})).eval()


def evaluate_briefly(model, env_id: str, **kwargs):
    return evaluate(model, env_id, **{"n_episodes": 1, "num_envs": 1, **kwargs})


CASES = {
    "agent: an observation of shape [2, 2] for state_dim 4": Case(
        lambda _: dt_act(np.zeros((2, 2))),
        ValueError,
        r"observations must be \[num_envs=1, state_dim=4\] \(or \[state_dim\] with one environment\), got \[2, 2\]",
    ),
    "agent: an observation of shape [4, 1] for state_dim 4": Case(
        lambda _: dt_act(np.zeros((4, 1))),
        ValueError,
        r"observations must be \[num_envs=1, state_dim=4\] .*, got \[4, 1\]",
    ),
    "agent: observations [1, 8] with num_envs=2": Case(
        lambda _: dt_act(np.zeros((1, 8)), num_envs=2),
        ValueError,
        r"observations must be \[num_envs=2, state_dim=4\], got \[1, 8\]",
    ),
    "agent: a NaN observation (discrete DT)": Case(
        lambda _: dt_act([[0.0, NAN, 0.0, 0.0], [0.0] * 4], num_envs=2),
        ValueError,
        r"observations hold a non-finite value \(NaN/inf\) for environment 0: \[0\.0, nan, 0\.0, 0\.0\]",
    ),
    "agent: an inf observation (continuous DT)": Case(
        lambda _: dt_act([0.0, 0.0, float("inf"), 0.0], action_space="continuous", act_dim=1),
        ValueError,
        r"observations hold a non-finite value \(NaN/inf\) for environment 0",
    ),
    "agent: a DQN agent given [3, 4] with num_envs=2": Case(
        lambda _: dqn_act(np.zeros((3, 4)), num_envs=2),
        ValueError,
        r"observations must be \[num_envs=2, state_dim=4\], got \[3, 4\]",
    ),
    "agent: observations of text": Case(
        lambda _: dqn_act(np.array(["a", "b", "c", "d"]), num_envs=1),
        ValueError,
        r"observations must be numbers, got dtype <U1",
    ),
    "agent: a NaN target_return": Case(
        lambda _: DecisionTransformerAgent(tiny_cartpole_model(), target_return=NAN),
        ValueError,
        r"target_return must be finite, got nan",
    ),
    "agent: an inf target_return for one of the environments": Case(
        lambda _: DecisionTransformerAgent(tiny_cartpole_model(), target_return=[1.0, float("inf")], num_envs=2),
        ValueError,
        r"target_return must be finite, got \[1\.0, inf\]",
    ),
    "evaluate: a continuous DT with act_dim=2 on Pendulum (1 action value)": Case(
        lambda _: evaluate_briefly(continuous_dt(act_dim=2), "Pendulum-v1"),
        ValueError,
        r"the model has act_dim=2 but Pendulum-v1 has 1 values per action",
    ),
    "evaluate: a model of another state_dim than the env's observations": Case(
        lambda _: evaluate_briefly(continuous_dt(state_dim=4), "Pendulum-v1"),
        ValueError,
        r"the model has state_dim=4 but Pendulum-v1's observations have 3 values",
    ),
    "evaluate: a discrete model in a continuous env": Case(
        lambda _: evaluate_briefly(tiny_cartpole_model(state_dim=3), "Pendulum-v1"),
        ValueError,
        r"the model's actions are discrete \(act_dim=2\) but Pendulum-v1's are continuous",
    ),
    "evaluate: a discrete model with more actions than the env": Case(
        lambda _: evaluate_briefly(tiny_cartpole_model(act_dim=3), "CartPole-v1"),
        ValueError,
        r"the model has act_dim=3 but CartPole-v1 has 2 actions",
    ),
    "evaluate: n_episodes 0": Case(
        lambda _: evaluate_briefly(tiny_cartpole_model(), "CartPole-v1", n_episodes=0),
        ValueError,
        r"n_episodes must be an integer >= 1, got 0",
    ),
    "evaluate: num_envs -1": Case(
        lambda _: evaluate_briefly(tiny_cartpole_model(), "CartPole-v1", num_envs=-1),
        ValueError,
        r"num_envs must be an integer >= 1, got -1",
    ),
}
