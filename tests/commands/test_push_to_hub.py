"""`push_to_hub --record_video` for every agent family: the replay is the agent's own greedy episode."""

import pytest
import torch

from hf_decision import PolicyConfig, PolicyModel, QNetworkConfig, QNetworkModel
from hf_decision.commands.push_to_hub import PushArguments, main
from hf_decision.evaluation import evaluate
from tests.conftest import tiny_cartpole_model

MAX_STEPS = 30


def q_network():
    torch.manual_seed(0)
    return QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[8], env_id="CartPole-v1"))


def policy():
    torch.manual_seed(0)
    return PolicyModel(PolicyConfig(state_dim=4, act_dim=2, hidden_sizes=[8], env_id="CartPole-v1"))


@pytest.mark.parametrize("make_model", [tiny_cartpole_model, q_network, policy], ids=["dt", "dqn", "reinforce"])
def test_push_records_the_replay_of_every_agent_family(make_model, tmp_path, monkeypatch):
    imageio = pytest.importorskip("imageio.v2", reason="the `video` extra (imageio) is not installed")
    pytest.importorskip("imageio_ffmpeg", reason="the `video` extra (imageio-ffmpeg) is not installed")
    pytest.importorskip("pygame", reason="CartPole's rgb_array rendering needs pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    model = make_model()
    model.save_pretrained(tmp_path / "run")
    args = PushArguments(
        model_dir=str(tmp_path / "run"),
        local_dir=str(tmp_path / "agent"),
        n_episodes=1,
        num_envs=1,
        seed=3,
        record_video=True,
        video_max_steps=MAX_STEPS,
    )
    try:
        folder = main(args)["local_dir"]
    except Exception as error:  # a headless machine whose SDL cannot render
        if "pygame" in repr(error) or "SDL" in repr(error):
            pytest.skip(f"CartPole cannot render headless here: {error!r}")
        raise
    # The replay is episode seed 3 of the agent the evaluation uses, cut at MAX_STEPS: reset frame + one per step.
    expected = evaluate(model, "CartPole-v1", n_episodes=1, num_envs=1, seed=3)
    reader = imageio.get_reader(folder / "replay.mp4")
    try:
        assert reader.count_frames() == min(expected["lengths"][0], MAX_STEPS) + 1
        assert reader.get_data(0).shape == (400, 600, 3)
    finally:
        reader.close()
    assert "[replay.mp4](replay.mp4)" in (folder / "README.md").read_text()
