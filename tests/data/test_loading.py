from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import Dataset, DatasetDict

from hf_decision.data import dataset_from_flat, load_trajectories, trajectory_features
from hf_decision.data.loading import hub_parquet_files

SHARED_HOPPER = Path(__file__).resolve().parents[3] / "shared" / "data" / "hopper-v5"


def assert_same_episodes(loaded: Dataset, episodes: dict):
    lengths = episodes["episode_lengths"]
    assert loaded["rewards"] == [list(r) for r in np.split(episodes["rewards"], np.cumsum(lengths)[:-1])]
    flat_obs = np.concatenate([np.asarray(o) for o in loaded["observations"]])
    np.testing.assert_array_equal(flat_obs, episodes["observations"])
    flat_actions = np.concatenate([np.asarray(a) for a in loaded["actions"]])
    np.testing.assert_array_equal(flat_actions, episodes["actions"])
    assert sum(loaded["terminals"], []) == episodes["terminals"].tolist()
    assert sum(loaded["timeouts"], []) == episodes["timeouts"].tolist()


def test_canonical_dataset_in_memory_round_trips(episodes):
    loaded = load_trajectories(dataset_from_flat(**episodes))
    assert loaded.features == trajectory_features(2, 1)
    assert_same_episodes(loaded, episodes)


def test_save_to_disk_folder_and_dataset_dict(tmp_path, episodes):
    dataset = dataset_from_flat(**episodes)
    dataset.save_to_disk(tmp_path / "single")
    assert_same_episodes(load_trajectories(tmp_path / "single"), episodes)
    DatasetDict(train=dataset, test=dataset.select([0])).save_to_disk(tmp_path / "dict")
    assert len(load_trajectories(tmp_path / "dict", split="test")) == 1


def test_parquet_in_the_edbeeching_schema(tmp_path, episodes):
    """`observations, actions, rewards, dones` as plain nested lists of float64, as on the Hub."""
    lengths = episodes["episode_lengths"]
    cut = np.cumsum(lengths)[:-1]
    table = pa.table(
        {
            "observations": [o.astype(np.float64).tolist() for o in np.split(episodes["observations"], cut)],
            "actions": [a.astype(np.float64).tolist() for a in np.split(episodes["actions"], cut)],
            "rewards": [r.tolist() for r in np.split(episodes["rewards"], cut)],
            "dones": [d.tolist() for d in np.split(episodes["terminals"], cut)],
        }
    )
    pq.write_table(table.slice(0, 2), tmp_path / "train-0.parquet")
    pq.write_table(table.slice(2), tmp_path / "train-1.parquet")
    loaded = load_trajectories(tmp_path)  # a folder of parquet files
    assert loaded.features == trajectory_features(2, 1)
    assert sum(loaded["terminals"], []) == episodes["terminals"].tolist()
    assert sum(loaded["timeouts"], []) == [False] * 10
    single = load_trajectories(tmp_path / "train-0.parquet")
    assert len(single) == 2
    files = load_trajectories([tmp_path / "train-0.parquet", tmp_path / "train-1.parquet"])
    assert loaded[:] == files[:]


def write_d4rl(path, episodes, with_timeouts=True, extra_steps=0):
    with h5py.File(path, "w") as f:
        n = len(episodes["rewards"])
        f["observations"] = np.concatenate([episodes["observations"], np.ones((extra_steps, 2), np.float32)])
        f["actions"] = np.concatenate([episodes["actions"], np.zeros((extra_steps, 1), np.float32)])
        f["rewards"] = np.concatenate([episodes["rewards"], np.ones(extra_steps, np.float32)])
        f["terminals"] = np.concatenate([episodes["terminals"], np.zeros(extra_steps, bool)])
        if with_timeouts:
            f["timeouts"] = np.concatenate([episodes["timeouts"], np.zeros(extra_steps, bool)])
        assert len(f["rewards"]) == n + extra_steps


def test_d4rl_hdf5_is_split_on_terminals_and_timeouts(tmp_path, episodes):
    write_d4rl(tmp_path / "hopper.hdf5", episodes)
    loaded = load_trajectories(tmp_path / "hopper.hdf5", state_dim=2, act_dim=1)
    assert [len(r) for r in loaded["rewards"]] == [3, 5, 2]
    assert_same_episodes(loaded, episodes)


def test_d4rl_hdf5_trailing_steps_form_a_last_episode(tmp_path, episodes):
    write_d4rl(tmp_path / "d.h5", episodes, with_timeouts=False, extra_steps=4)
    loaded = load_trajectories(tmp_path / "d.h5")
    # without timeouts, episode 1 (which ended in a timeout) runs on into episode 2 (which terminates);
    # the 4 steps after the last terminal form a last episode
    assert [len(r) for r in loaded["rewards"]] == [3, 7, 4]


def test_d4rl_hdf5_missing_key_is_named(tmp_path):
    with h5py.File(tmp_path / "bad.hdf5", "w") as f:
        f["observations"] = np.zeros((3, 2))
        f["actions"] = np.zeros((3, 1))
        f["rewards"] = np.zeros(3)
    with pytest.raises(ValueError, match="terminals"):
        load_trajectories(tmp_path / "bad.hdf5")


def test_minari_local_dataset(tmp_path, monkeypatch):
    minari = pytest.importorskip("minari")
    pytest.importorskip("PIL")
    import gymnasium as gym
    from minari.data_collector import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = gym.make("CartPole-v1")
    env.action_space.seed(0)
    buffers, observations = [], []
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        steps = {"observations": [obs], "actions": [], "rewards": [], "terminations": [], "truncations": []}
        done = False
        while not done:
            action = env.action_space.sample()
            obs, reward, terminated, truncated, _ = env.step(action)
            for key, value in zip(list(steps)[1:], (action, reward, terminated, truncated), strict=True):
                steps[key].append(value)
            steps["observations"].append(obs)
            done = terminated or truncated
        observations.append(np.array(steps["observations"][:-1]))
        buffers.append(EpisodeBuffer(id=episode, **{k: np.array(v) for k, v in steps.items()}, infos={}))
    minari.create_dataset_from_buffers("cartpole/test-v0", buffers, env="CartPole-v1", data_format="arrow")

    loaded = load_trajectories("minari:cartpole/test-v0", state_dim=4, act_dim=2)
    assert len(loaded) == 3
    assert [len(r) for r in loaded["rewards"]] == [len(b.rewards) for b in buffers]
    np.testing.assert_array_equal(np.asarray(loaded[1]["observations"], np.float32), observations[1])
    assert loaded[2]["actions"] == buffers[2].actions.tolist()
    assert loaded.features["actions"] == trajectory_features(4, 2, "discrete")["actions"]
    assert all(t[-1] for t in loaded["terminals"])


def test_missing_local_path_is_a_file_not_found_error(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError):
        load_trajectories(tmp_path / "nope.parquet")
    # a relative path into a folder that exists here is local, never the Hub repo of a user named like the folder
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    with pytest.raises(FileNotFoundError, match="no such file or folder: data/cartpole-medium-replay"):
        load_trajectories("data/cartpole-medium-replay")


def test_shipped_configs_read_what_the_readme_collect_command_writes():
    import yaml

    from hf_decision.collection.d4rl_family import family_folder_name

    root = Path(__file__).resolve().parents[2]
    written = f"data/cartpole/{family_folder_name('CartPole-v1', 'medium-replay')}"  # `--output_dir data/cartpole`
    assert "--output_dir data/cartpole" in (root / "README.md").read_text()
    for config in ("dqn/cartpole-v1-offline.yaml", "bc/cartpole-v1.yaml"):
        values = yaml.safe_load((root / "scripts" / "configs" / config).read_text())
        assert values["dataset_name_or_path"] == written, config


def test_hub_parquet_conversion_pattern():
    pattern = hub_parquet_files("edbeeching/decision_transformer_gym_replay", "hopper-medium-v2", "train")
    assert pattern == (
        "hf://datasets/edbeeching/decision_transformer_gym_replay@refs%2Fconvert%2Fparquet/hopper-medium-v2/train/*.parquet"
    )


@pytest.mark.skipif(not SHARED_HOPPER.exists(), reason="needs the Hopper-v5 datasets in ../shared/data")
def test_shared_hopper_medium_replay_matches_its_readme():
    loaded = load_trajectories(SHARED_HOPPER / "hopper-medium-replay.parquet", state_dim=11, act_dim=3)
    returns = np.array([sum(r) for r in loaded["rewards"]])
    assert len(loaded) == 1456 and sum(len(r) for r in loaded["rewards"]) == 249_847
    assert returns.mean() == pytest.approx(506.5, abs=0.1)
    assert returns.std() == pytest.approx(393.1, abs=0.1)
