import json

import gymnasium as gym
import numpy as np
import pytest
from datasets import load_from_disk

from hf_decision.cards.dataset import dataset_card, episode_returns, return_histogram
from hf_decision.collection.collect import collect, save_collected
from hf_decision.collection.d4rl_family import FAMILY_KINDS, collect_d4rl_family, family_folder_name
from hf_decision.collection.policies import RandomPolicy, SB3Policy, detect_sb3_algo, make_policy

COUNTER_ID = "hf_decision_test/Counter-v0"
COUNTER_LIMIT = 5  # TimeLimit truncation


class CounterEnv(gym.Env):
    """The observation is the step index, the reward equals the action, and action 2 ends the episode."""

    observation_space = gym.spaces.Box(0.0, 100.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([self.t], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t], dtype=np.float32), float(action), bool(action == 2), False, {}


gym.register(COUNTER_ID, entry_point=CounterEnv, max_episode_steps=COUNTER_LIMIT)


class ConstantPolicy:
    """Always takes `action`, and records the `dones` it observes."""

    name = "constant"

    def __init__(self, action: int):
        self.action = action
        self.dones: list[np.ndarray] = []

    def act(self, observations):
        return np.full(len(observations), self.action)

    def observe(self, rewards, dones):
        self.dones.append(dones.copy())


def episodes(dataset):
    return [{name: np.asarray(value) for name, value in row.items()} for row in dataset]


def test_counter_env_alignment_with_random_actions():
    dataset = collect(COUNTER_ID, "random", num_steps=200, num_envs=3, seed=0)
    assert dataset.features["actions"].feature.dtype == "int64"
    rows = episodes(dataset)
    lengths = np.array([len(row["rewards"]) for row in rows])
    assert lengths.sum() >= 200 and lengths[:-1].sum() < 200  # the shortest prefix of complete episodes
    assert {True, False} <= {bool(row["terminals"][-1]) for row in rows}  # both endings are exercised
    for row in rows:
        length = len(row["rewards"])
        assert row["observations"].shape == (length, 1)
        np.testing.assert_array_equal(row["observations"][:, 0], np.arange(length))  # obs in which action was taken
        np.testing.assert_array_equal(row["rewards"], row["actions"])
        assert not (row["actions"][:-1] == 2).any()  # action 2 ends the episode at once
        terminal = row["actions"][-1] == 2
        assert row["terminals"].tolist() == [False] * (length - 1) + [terminal]
        assert row["timeouts"].tolist() == [False] * (length - 1) + [not terminal]
        assert length <= COUNTER_LIMIT and (terminal or length == COUNTER_LIMIT)


def test_counter_env_truncation_and_observe_calls():
    policy = ConstantPolicy(action=1)
    dataset = collect(COUNTER_ID, policy, num_episodes=4, num_envs=3, seed=0)
    assert len(dataset) == 4  # 6 episodes end together at step 10; exactly 4 are kept
    for row in episodes(dataset):
        np.testing.assert_array_equal(row["observations"][:, 0], np.arange(COUNTER_LIMIT))
        np.testing.assert_array_equal(row["rewards"], np.ones(COUNTER_LIMIT))
        assert row["timeouts"].tolist() == [False] * (COUNTER_LIMIT - 1) + [True]
        assert not row["terminals"].any()
    dones = np.stack(policy.dones)
    assert dones.shape == (2 * COUNTER_LIMIT, 3)
    np.testing.assert_array_equal(np.flatnonzero(dones.all(axis=1)), [COUNTER_LIMIT - 1, 2 * COUNTER_LIMIT - 1])
    assert dones.sum() == 6


@pytest.fixture(scope="module")
def cartpole():
    return collect("CartPole-v1", "random", num_steps=500, num_envs=4, seed=0)


def test_cartpole_random_round_trip(cartpole, tmp_path):
    card = dataset_card(cartpole, env_id="CartPole-v1", policy_name="random", seed=0)
    folder = save_collected(cartpole, tmp_path / "cartpole", card)
    loaded = load_from_disk(str(folder))
    assert loaded.features == cartpole.features
    assert loaded.to_dict() == cartpole.to_dict()
    assert (folder / "README.md").read_text() == str(card)
    from hf_decision.data import load_trajectories

    assert load_trajectories(str(folder)).to_dict() == cartpole.to_dict()


def test_cartpole_random_episodes(cartpole):
    returns, lengths = episode_returns(cartpole)
    assert lengths.sum() >= 500 and lengths[:-1].sum() < 500
    np.testing.assert_array_equal(returns, lengths)  # CartPole pays 1 per step
    for row in episodes(cartpole):
        ends = row["terminals"] | row["timeouts"]
        assert ends[-1] and not ends[:-1].any()
        assert not (row["terminals"] & row["timeouts"]).any()
        assert row["observations"].shape == (len(row["rewards"]), 4)
        assert set(np.unique(row["actions"])) <= {0, 1}


def test_cartpole_is_a_function_of_the_seed(cartpole):
    assert collect("CartPole-v1", "random", num_steps=500, num_envs=4, seed=0).to_dict() == cartpole.to_dict()
    other = collect("CartPole-v1", "random", num_steps=500, num_envs=4, seed=1)
    assert other.to_dict() != cartpole.to_dict()


def test_num_episodes_and_continuous_actions():
    dataset = collect("Pendulum-v1", "random", num_episodes=3, num_envs=2, seed=0)
    assert len(dataset) == 3
    row = episodes(dataset)[0]
    assert row["observations"].shape == (200, 3) and row["actions"].shape == (200, 1)
    assert dataset.features["actions"].feature.feature.dtype == "float32"
    assert np.abs(row["actions"]).max() <= 2.0
    assert row["timeouts"][-1] and not row["terminals"].any()


@pytest.mark.parametrize("budget", [{}, {"num_steps": 10, "num_episodes": 2}, {"num_steps": 0}])
def test_collect_rejects_bad_budgets(budget):
    with pytest.raises(ValueError, match="num_steps"):
        collect("CartPole-v1", "random", **budget)


@pytest.mark.parametrize("spec", ["greedy", "sb3", 3])
def test_make_policy_rejects_unknown_specs(spec):
    env = gym.make("CartPole-v1")
    with pytest.raises(ValueError, match="sb3:PATH"):
        make_policy(spec, env)


def test_make_policy_builds_and_passes_through():
    env = gym.make_vec("CartPole-v1", num_envs=2)
    policy = make_policy("random", env, seed=3)
    assert isinstance(policy, RandomPolicy) and policy.action_space == gym.spaces.Discrete(2)
    actions = policy.act(np.zeros((2, 4)))
    assert actions.shape == (2,)
    np.testing.assert_array_equal(actions, make_policy("random", env, seed=3).act(np.zeros((2, 4))))
    constant = ConstantPolicy(0)
    assert make_policy(constant, env) is constant


def test_dataset_card(cartpole):
    returns, _ = episode_returns(cartpole)
    card = dataset_card(cartpole, env_id="CartPole-v1", policy_name="random", seed=0, extra={"Note": "hello"})
    assert card.data.tags == ["reinforcement-learning", "offline-rl", "CartPole-v1"]
    assert card.data.task_categories == ["reinforcement-learning"]
    assert card.data.license == "other"
    assert "`CartPole-v1`" in card.text
    assert f"| Episodes | {len(cartpole)} |" in card.text
    assert f"| Return | {returns.mean():.2f} ± {returns.std():.2f}" in card.text
    assert "| Note | hello |" in card.text
    assert "load_trajectories(" in card.text
    rows = return_histogram(returns)
    assert sum(row["count"] for row in rows) == len(returns)
    for row in rows:
        assert f"| {row['low']:.1f} – {row['high']:.1f} | {row['count']} | {row['bar']} |" in card.text


def test_return_histogram_bins_counts_and_bars():
    rows = return_histogram(np.array([0.0, 1.0, 1.0, 9.0, 10.0]), bins=2, width=10)
    assert [(r["low"], r["high"], r["count"]) for r in rows] == [(0.0, 5.0, 3), (5.0, 10.0, 2)]
    assert [r["bar"] for r in rows] == ["█" * 10, "█" * 7]  # 10 · 2/3 rounds to 7
    (single,) = return_histogram(np.array([500.0, 500.0]), width=4)
    assert (single["low"], single["high"], single["count"], single["bar"]) == (500.0, 500.0, 2, "████")


def test_family_folder_name():
    assert family_folder_name("CartPole-v1", "medium-replay") == "cartpole-medium-replay"
    assert family_folder_name("ALE/Pong-v5", "expert") == "pong-expert"


@pytest.fixture(scope="module")
def ppo_zip(tmp_path_factory):
    sb3 = pytest.importorskip("stable_baselines3")
    path = tmp_path_factory.mktemp("sb3") / "ppo_cartpole.zip"
    model = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    model.save(path)
    return path


def test_sb3_policy_collects_its_own_actions(ppo_zip):
    assert detect_sb3_algo(ppo_zip) == "PPO"
    policy = SB3Policy(ppo_zip, deterministic=True)
    dataset = collect("CartPole-v1", policy, num_episodes=3, num_envs=2, seed=0)
    assert len(dataset) == 3
    for row in episodes(dataset):
        expected, _ = policy.model.predict(row["observations"], deterministic=True)
        np.testing.assert_array_equal(row["actions"], expected)
    stochastic = collect("CartPole-v1", f"sb3:{ppo_zip}", num_steps=100, num_envs=2, seed=0)
    assert stochastic.to_dict() == collect("CartPole-v1", str(ppo_zip), num_steps=100, num_envs=2, seed=0).to_dict()


def test_sb3_policy_applies_vecnormalize(ppo_zip, tmp_path):
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    normalizer = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]), clip_obs=10.0, epsilon=0.0)
    normalizer.obs_rms.mean[:] = 1.0
    normalizer.obs_rms.var[:] = 4.0
    folder = tmp_path / "with_stats"
    folder.mkdir()
    (folder / "ppo.zip").write_bytes(ppo_zip.read_bytes())
    normalizer.save(str(folder / "vecnormalize.pkl"))
    policy = SB3Policy(folder / "ppo.zip", deterministic=True)
    observations = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32) * 3
    expected, _ = policy.model.predict((observations - 1.0) / 2.0, deterministic=True)
    np.testing.assert_array_equal(policy.act(observations), expected)


def test_detect_sb3_algo_tells_algorithms_apart(tmp_path):
    sb3 = pytest.importorskip("stable_baselines3")
    for algo, env_id in [("A2C", "CartPole-v1"), ("DQN", "CartPole-v1"), ("SAC", "Pendulum-v1")]:
        kwargs = {"buffer_size": 10} if algo != "A2C" else {}
        getattr(sb3, algo)("MlpPolicy", env_id, device="cpu", **kwargs).save(tmp_path / f"{algo}.zip")
        assert detect_sb3_algo(tmp_path / f"{algo}.zip") == algo


def load_script():
    from hf_decision.commands import collect_dataset

    return collect_dataset


def test_cli_main_collects_and_saves(tmp_path, capsys):
    script = load_script()
    args = script.parse_args(["--num_steps", "300", "--num_envs", "2", "--output_dir", str(tmp_path / "out")])
    dataset = script.main(args)
    loaded = load_from_disk(str(tmp_path / "out"))
    assert loaded.to_dict() == dataset.to_dict()
    assert sum(len(r) for r in loaded["rewards"]) >= 300
    assert (tmp_path / "out" / "README.md").exists()
    summary = capsys.readouterr().out
    assert f"{len(dataset)} episodes" in summary and str(tmp_path / "out") in summary


def test_cli_reads_a_yaml_config_that_flags_override(tmp_path):
    script = load_script()
    config = tmp_path / "collect.yaml"
    config.write_text("env_id: Pendulum-v1\nnum_episodes: 2\nseed: 4\npush_to_hub: true\n")
    args = script.parse_args(["--config", str(config), "--seed", "5"])
    assert (args.env_id, args.num_episodes, args.seed, args.push_to_hub) == ("Pendulum-v1", 2, 5, True)
    assert script.parse_args([str(config)]).seed == 4
    config.write_text("env: CartPole-v1\n")
    with pytest.raises(ValueError, match="env"):
        script.parse_args(["--config", str(config)])


@pytest.mark.slow
def test_d4rl_family_on_cartpole(tmp_path):
    pytest.importorskip("stable_baselines3")
    family = collect_d4rl_family(
        "CartPole-v1",
        tmp_path,
        train_steps=10_000,
        steps_per_dataset=1000,
        num_envs=1,
        seed=0,
        eval_episodes=5,
        num_checkpoints=5,
    )
    assert set(family) == set(FAMILY_KINDS)
    for kind in FAMILY_KINDS:
        folder = tmp_path / f"cartpole-{kind}"
        assert load_from_disk(str(folder)).to_dict() == family[kind].to_dict()
        assert "CartPole-v1" in (folder / "README.md").read_text()
    medium, expert = family["medium"].to_dict(), family["expert"].to_dict()
    assert family["medium-expert"].to_dict() == {name: medium[name] + expert[name] for name in medium}
    random = family["random"].to_dict()
    assert family["mixed"].to_dict() == {name: random[name] + medium[name] + expert[name] for name in medium}

    meta = json.loads((tmp_path / "meta.json").read_text())
    checkpoints = meta["checkpoints"]
    assert meta["algo"] == "DQN" and [c["timesteps"] for c in checkpoints] == [2000, 4000, 6000, 8000, 10_000]
    eval_returns = [c["eval_return"] for c in checkpoints]
    assert meta["expert_checkpoint"] == checkpoints[int(np.argmax(eval_returns))]["path"]
    threshold = meta["random_return"] + (max(eval_returns) - meta["random_return"]) / 3
    assert meta["medium_threshold"] == pytest.approx(threshold)
    medium_index = next(i for i, r in enumerate(eval_returns) if r >= threshold)
    assert meta["medium_checkpoint"] == checkpoints[medium_index]["path"]
    assert len(family["medium-replay"]) == checkpoints[medium_index]["training_episodes"]
    mean_return = {kind: episode_returns(family[kind])[0].mean() for kind in FAMILY_KINDS}
    assert max(eval_returns) > 4 * meta["random_return"]  # the agent learned
    assert mean_return["expert"] > 4 * mean_return["random"]
    for kind in ("random", "medium", "expert"):
        assert episode_returns(family[kind])[1].sum() >= 1000


def test_a_decision_transformer_checkpoint_collects_through_its_agent(tmp_path):
    import torch

    from hf_decision import DecisionTransformerModel
    from hf_decision.agents import DecisionTransformerAgent
    from tests.conftest import tiny_dt_config

    torch.manual_seed(0)
    config = tiny_dt_config(action_space="discrete", act_dim=2, max_ep_len=500, target_returns=[500.0])
    DecisionTransformerModel(config).save_pretrained(tmp_path / "dt")
    env = gym.make_vec("CartPole-v1", num_envs=3)
    policy = make_policy(f"dt:{tmp_path / 'dt'}@200", env)
    assert isinstance(policy, DecisionTransformerAgent) and policy.num_envs == 3
    assert policy.next_return.tolist() == pytest.approx([200 / config.return_scale] * 3)
    dataset = collect("CartPole-v1", policy, num_episodes=4, num_envs=3, seed=0)
    assert len(dataset) == 4 and all(set(a) <= {0, 1} for a in dataset["actions"])


@pytest.mark.slow
def test_hopper_random_collection_round_trip(tmp_path):
    pytest.importorskip("mujoco", reason="needs the mujoco extra: pip install 'hf_decision[mujoco]'")
    from hf_decision.data import load_trajectories

    dataset = collect("Hopper-v5", "random", num_steps=2000, num_envs=4, seed=0)
    save_collected(
        dataset, tmp_path / "hopper", dataset_card(dataset, env_id="Hopper-v5", policy_name="random", seed=0)
    )
    loaded = load_trajectories(tmp_path / "hopper", state_dim=11, act_dim=3, max_ep_len=1000)
    assert loaded.to_dict() == dataset.to_dict()
    assert sum(len(r) for r in loaded["rewards"]) >= 2000
    assert all(t[-1] or o[-1] for t, o in zip(loaded["terminals"], loaded["timeouts"], strict=True))


@pytest.mark.parametrize("kind", ["dqn", "reinforce", "pg"])
def test_baseline_checkpoints_collect_through_their_agents(tmp_path, kind):
    import torch

    from hf_decision.agents import PolicyAgent, QNetworkAgent
    from hf_decision.models import PolicyConfig, PolicyModel, QNetworkConfig, QNetworkModel

    torch.manual_seed(0)
    model = QNetworkModel(QNetworkConfig(hidden_sizes=[8])) if kind == "dqn" else PolicyModel(PolicyConfig())
    model.save_pretrained(tmp_path / kind)
    policy = make_policy(f"{kind}:{tmp_path / kind}", gym.make_vec("CartPole-v1", num_envs=2), seed=1)
    assert isinstance(policy, QNetworkAgent if kind == "dqn" else PolicyAgent) and policy.num_envs == 2
    dataset = collect("CartPole-v1", policy, num_episodes=3, num_envs=2, seed=0)
    assert len(dataset) == 3 and all(set(a) <= {0, 1} for a in dataset["actions"])


def test_a_spec_naming_another_family_is_refused(tmp_path):
    from hf_decision.models import PolicyConfig, PolicyModel

    PolicyModel(PolicyConfig()).save_pretrained(tmp_path / "policy")
    with pytest.raises(ValueError, match="names a PolicyModel; dqn: takes a QNetworkAgent model"):
        make_policy(f"dqn:{tmp_path / 'policy'}", gym.make_vec("CartPole-v1", num_envs=2))


def test_d4rl_family_trains_normalized_and_acts_through_each_checkpoints_statistics(tmp_path):
    pytest.importorskip("stable_baselines3")
    from hf_decision.collection.policies import SB3Policy

    recipe = dict(normalize=True, n_envs=1, n_steps=64, batch_size=32, n_epochs=1)
    family = collect_d4rl_family(
        "Pendulum-v1",
        tmp_path,
        train_steps=400,
        steps_per_dataset=200,
        num_envs=3,
        seed=0,
        eval_episodes=1,
        num_checkpoints=2,
        algo_kwargs=recipe,
    )
    assert recipe == dict(normalize=True, n_envs=1, n_steps=64, batch_size=32, n_epochs=1)  # not consumed
    checkpoints = json.loads((tmp_path / "meta.json").read_text())["checkpoints"]
    assert [c["timesteps"] for c in checkpoints] == [200, 400]  # one training env (three would count 201, 402)
    counts = []
    for entry in checkpoints:
        assert entry["vecnormalize_path"] == entry["path"].replace(".zip", ".vecnormalize.pkl")
        policy = SB3Policy(entry["path"], vecnormalize_path=entry["vecnormalize_path"])
        counts.append(policy.obs_normalizer.obs_rms.count)
    assert counts[0] < counts[1]  # each checkpoint keeps the statistics of its own time
    # The recorder sits below VecNormalize: the training episodes hold raw observations, (cos θ, sin θ, θ').
    observations = np.concatenate(family["medium-replay"].with_format("numpy")["observations"])
    np.testing.assert_allclose(observations[:, 0] ** 2 + observations[:, 1] ** 2, 1.0, atol=1e-5)
