import struct

import gymnasium as gym
import numpy as np
import pytest

from hf_decision import DecisionTransformerModel
from hf_decision.agents import DecisionTransformerAgent
from hf_decision.evaluation import evaluate
from hf_decision.plots import (
    history_from_log_history,
    plot_evaluation_history,
    plot_return_conditioning,
    record_video,
)
from tests.conftest import tiny_cartpole_model

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# matplotlib's first two cycle colors, "C0" and "C1".
BLUE, ORANGE = (31, 119, 180), (255, 127, 14)


def tiny_model() -> DecisionTransformerModel:
    return tiny_cartpole_model()


def history(targets=(500.0, 250.0)):
    return [
        {"step": step, "target_return": target, "mean": target / 10 + step / 100, "std": 2.0}
        for step in (100, 200, 300)
        for target in targets
    ]


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def has_color(pixels: np.ndarray, rgb, tolerance=12) -> bool:
    return bool((np.abs(pixels[..., :3].astype(int) - rgb).max(axis=-1) <= tolerance).any())


def test_evaluation_plot_is_a_png_of_the_requested_size_with_one_line_per_target(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    path = plot_evaluation_history(history(), tmp_path / "plots" / "evaluation.png")
    assert path == tmp_path / "plots" / "evaluation.png"
    assert png_size(path) == (640, 400)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert has_color(pixels, BLUE) and has_color(pixels, ORANGE)

    single = plot_evaluation_history(history(targets=(500.0,)), tmp_path / "one.png", figsize=(4, 3), dpi=50)
    assert png_size(single) == (200, 150)
    pixels = np.asarray(Image.open(single).convert("RGB"))
    assert has_color(pixels, BLUE) and not has_color(pixels, ORANGE)


def test_evaluation_plot_rejects_bad_history(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="empty"):
        plot_evaluation_history([], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"history\[1\] lacks \['std'\]"):
        plot_evaluation_history([history()[0], {"step": 1, "target_return": 5.0, "mean": 1.0}], tmp_path / "x.png")
    with pytest.raises(ValueError, match="non-finite"):
        plot_evaluation_history(
            [{"step": 1, "target_return": 5.0, "mean": float("nan"), "std": 0.0}], tmp_path / "x.png"
        )
    assert not (tmp_path / "x.png").exists()


def test_conditioning_plot_draws_the_curve_the_reference_and_the_data(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    per_target = {"100.0": {"mean_return": 90.0, "std_return": 5.0}, 300.0: {"mean_return": 250.0, "std_return": 9.0}}
    path = plot_return_conditioning(per_target, tmp_path / "c.png", dataset_returns=[10.0, 50.0, 200.0])
    assert png_size(path) == (640, 400)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert has_color(pixels, BLUE)  # the DT's line
    plain = np.asarray(Image.open(plot_return_conditioning(per_target, tmp_path / "p.png")).convert("RGB"))
    # the data's histogram sits in a panel right of the plot (x from 0.81 to 0.92 of the width), only when given
    side = slice(int(0.82 * 640), int(0.91 * 640))
    assert (pixels[:, side] < 250).any() and (plain[:, side] >= 250).all()
    with pytest.raises(ValueError, match="non-finite"):
        plot_return_conditioning({1.0: {"mean_return": float("nan"), "std_return": 0.0}}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="dataset_returns"):
        plot_return_conditioning(per_target, tmp_path / "x.png", dataset_returns=[])


def test_history_from_trainer_log_history():
    logs = [
        {"step": 10, "loss": 0.5},
        {"step": 20, "eval_env/return@500": 31.0, "eval_env/return_std@500": 4.0, "eval_env/return@250": 12.5},
    ]
    assert history_from_log_history(logs) == [
        {"step": 20, "target_return": 500.0, "mean": 31.0, "std": 4.0},
        {"step": 20, "target_return": 250.0, "mean": 12.5, "std": 0.0},
    ]


def test_record_video_is_a_real_rollout_of_the_agent(tmp_path, monkeypatch):
    imageio = pytest.importorskip("imageio.v2", reason="the `video` extra (imageio) is not installed")
    pytest.importorskip("imageio_ffmpeg", reason="the `video` extra (imageio-ffmpeg) is not installed")
    pytest.importorskip("pygame", reason="CartPole's rgb_array rendering needs pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    model = tiny_model()
    try:
        replay = record_video(model, "CartPole-v1", tmp_path / "replay.mp4", target_return=500.0, seed=3)
    except Exception as error:  # a headless machine whose SDL cannot render
        if "pygame" in repr(error) or "SDL" in repr(error):
            pytest.skip(f"CartPole cannot render headless here: {error!r}")
        raise
    # The same episode (seed 3, target 500) in the batched evaluation: the video shows the agent's own rollout.
    expected = evaluate(model, "CartPole-v1", target_return=500.0, n_episodes=1, num_envs=1, seed=3)
    assert replay["episode_return"] == expected["returns"][0]
    assert replay["length"] == expected["lengths"][0] and replay["frames"] == replay["length"] + 1
    reader = imageio.get_reader(replay["path"])
    try:
        assert reader.count_frames() == replay["frames"]
        assert reader.get_data(0).shape == (400, 600, 3)
    finally:
        reader.close()

    short = record_video(model, "CartPole-v1", tmp_path / "short.mp4", seed=3, max_steps=2)
    assert short["length"] == min(2, replay["length"])


def test_record_video_refuses_a_target_for_an_agent(tmp_path):
    agent = DecisionTransformerAgent(tiny_model(), target_return=500.0)
    with pytest.raises(ValueError, match="target_return"):
        record_video(agent, "CartPole-v1", tmp_path / "x.mp4", target_return=100.0)
    with pytest.raises(ValueError, match="num_envs=2"):
        record_video(DecisionTransformerAgent(tiny_model(), num_envs=2), "CartPole-v1", tmp_path / "x.mp4")


class HeadlessMuJoCoEnv(gym.Env):
    """Fails to render as MuJoCo does on a machine without a display and without MUJOCO_GL."""

    __module__ = "gymnasium.envs.mujoco.headless"
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}
    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(4, np.float32), {}

    def render(self):
        raise RuntimeError("GLFW error: The DISPLAY environment variable is missing")


if "hf_decision_tests/HeadlessMuJoCo-v0" not in gym.registry:
    gym.register("hf_decision_tests/HeadlessMuJoCo-v0", entry_point=HeadlessMuJoCoEnv)


def test_record_video_of_mujoco_without_a_display_says_to_set_mujoco_gl(tmp_path, monkeypatch):
    pytest.importorskip("imageio.v2", reason="the `video` extra (imageio) is not installed")
    pytest.importorskip("imageio_ffmpeg", reason="the `video` extra (imageio-ffmpeg) is not installed")
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    match = r"HeadlessMuJoCo-v0 could not render \(RuntimeError: GLFW .* MUJOCO_GL=egl"
    with pytest.raises(RuntimeError, match=match):
        record_video(tiny_model(), "hf_decision_tests/HeadlessMuJoCo-v0", tmp_path / "x.mp4")
