"""A tiny task with two behaviours of different returns, as a dataset and as a gymnasium env, and a DT trainer on it
(shared by the trainer and reliability tests)."""

import gymnasium as gym
import numpy as np
import torch

from hf_decision import DecisionTransformerModel
from hf_decision.data import dataset_from_flat
from hf_decision.trainers import DecisionTransformerTrainer, DecisionTransformerTrainingConfig
from tests.conftest import tiny_dt_config

HORIZON = 8
ENV_ID = "hf_decision_tests/SignReward-v0"


def observation(t: int) -> np.ndarray:
    return np.array([t / HORIZON, 1.0], dtype=np.float32)


def two_behaviour_dataset(episodes_per_behaviour: int = 20):
    """Good episodes act +0.5 and earn 1 per step (return 8); bad ones act −0.5 and earn 0. States are identical,
    so only the return-to-go tells the two apart."""
    obs, actions, rewards, lengths = [], [], [], []
    for good in [True, False] * episodes_per_behaviour:
        obs.append(np.stack([observation(t) for t in range(HORIZON)]))
        actions.append(np.full((HORIZON, 1), 0.5 if good else -0.5, np.float32))
        rewards.append(np.full(HORIZON, 1.0 if good else 0.0, np.float32))
        lengths.append(HORIZON)
    n = HORIZON * len(lengths)
    terminals = np.zeros(n, bool)
    terminals[HORIZON - 1 :: HORIZON] = True
    return dataset_from_flat(
        np.concatenate(obs), np.concatenate(actions), np.concatenate(rewards), terminals, np.zeros(n, bool), lengths
    )


class SignRewardEnv(gym.Env):
    """Reward 1 when the action is positive, else 0; the observation is the step counter; 8 steps."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return observation(0), {}

    def step(self, action):
        reward = float(np.asarray(action).reshape(-1)[0] > 0)
        self.t += 1
        return observation(self.t), reward, self.t >= HORIZON, False, {}


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=SignRewardEnv)


DISCRETE_ENV_ID = "hf_decision_tests/TwoArm-v0"


class TwoArmEnv(gym.Env):
    """Action 1 earns 1 and action 0 earns 0, for `HORIZON` steps; the observation is the step counter.

    With discount γ the optimal values are Q*(t, a) = a + Σ_{h=1}^{HORIZON−t−1} γ^h.
    """

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return observation(0), {}

    def step(self, action):
        self.t += 1
        return observation(self.t), float(action), self.t >= HORIZON, False, {}


def optimal_two_arm_q(gamma: float) -> np.ndarray:
    """Q*(t, a) of `TwoArmEnv`, `[HORIZON, 2]`."""
    future = np.array([sum(gamma**h for h in range(1, HORIZON - t)) for t in range(HORIZON)])
    return np.stack([future, 1.0 + future], axis=1)


def two_arm_dataset(episodes: int = 40, seed: int = 0):
    """Uniformly random actions in `TwoArmEnv`, as a canonical episode dataset."""
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, 2, size=(episodes, HORIZON))
    obs = np.tile(np.stack([observation(t) for t in range(HORIZON)]), (episodes, 1))
    terminals = np.zeros(episodes * HORIZON, bool)
    terminals[HORIZON - 1 :: HORIZON] = True
    return dataset_from_flat(
        obs,
        actions.reshape(-1),
        actions.reshape(-1).astype(np.float32),
        terminals,
        np.zeros_like(terminals),
        [HORIZON] * episodes,
    )


if DISCRETE_ENV_ID not in gym.registry:
    gym.register(DISCRETE_ENV_ID, entry_point=TwoArmEnv)


class FixedText:
    """Language batches that always return the same ids; counts the draws, resumable like the real ones."""

    def __init__(self, vocab_size=32, seed=0):
        self.ids = torch.randint(0, vocab_size, (2, 6), generator=torch.Generator().manual_seed(seed))
        self.draws = 0

    def __next__(self):
        self.draws += 1
        return self.ids

    def state_dict(self):
        return {"draws": self.draws}

    def load_state_dict(self, state):
        self.draws = state["draws"]


def task_config(**overrides):
    """The tiny DT config of this task (state_dim 2, act_dim 1, K = 4), with `overrides`."""
    return tiny_dt_config(
        state_dim=2, act_dim=1, context_length=4, max_ep_len=HORIZON, env_id=ENV_ID, return_scale=HORIZON, **overrides
    )


def make_trainer(tmp_path, lm_coef=0.0, language_batches=None, **overrides):
    torch.manual_seed(0)
    model = DecisionTransformerModel(task_config())
    kwargs = dict(
        output_dir=str(tmp_path),
        max_steps=5,
        per_device_train_batch_size=16,
        learning_rate=1e-3,
        warmup_steps=0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        lm_coef=lm_coef,
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    kwargs.update(overrides)
    args = DecisionTransformerTrainingConfig(**kwargs)
    return DecisionTransformerTrainer(model, args, two_behaviour_dataset(), language_batches=language_batches)
