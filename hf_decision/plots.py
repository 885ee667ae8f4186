"""Pictures of an agent for its model card: the evaluation return during training, the achieved return against the
target return, and a rollout video.

matplotlib (extra `plots`) and imageio with imageio-ffmpeg (extra `video`) are optional and imported when used.
Figures are drawn with matplotlib's Agg canvas directly, so no global backend is set and no window opens.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hf_decision.agents import agent_for

HISTORY_KEYS = ("step", "target_return", "mean", "std")
_RETURN_LOG = re.compile(r"^eval_env/return@(.+)$")


def plot_evaluation_history(
    history: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
    dpi: int = 100,
) -> Path:
    """Save a PNG of the evaluation return against the training step: one line per target return, with a band of
    ± one standard deviation over episodes. The image is `figsize · dpi` pixels (640 × 400 by default).

    Args:
        history: `EnvironmentEvaluationCallback.history` entries, `{step, target_return, mean, std}`.
        path: where to write the PNG.
    """
    Figure, FigureCanvasAgg = _matplotlib()
    curves = _curves(history)
    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for target, (steps, means, stds) in curves.items():
        (line,) = axes.plot(steps, means, marker="o", markersize=3, label=f"target {target:g}")
        axes.fill_between(steps, means - stds, means + stds, color=line.get_color(), alpha=0.2, linewidth=0)
    axes.set_xlabel("training step")
    axes.set_ylabel("episode return")
    axes.set_title(title or "Evaluation return (mean ± std over episodes)")
    axes.grid(alpha=0.3)
    axes.legend(title="conditioned on", fontsize="small")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi)
    return path


def draw_return_conditioning(
    axes,
    curves: Mapping[str, Mapping[float, tuple[float, float]]],
    *,
    dataset_returns: Sequence[float] | np.ndarray | None = None,
    flat: Mapping[str, tuple[float, float]] | None = None,
    title: str | None = None,
) -> None:
    """Draw achieved return against target return on matplotlib `axes`: one line per curve (target → (mean, std)),
    with a ± std band; the line achieved = target; each `flat` reference (label → (mean, std), e.g. behaviour
    cloning, which ignores the target) as a horizontal line; and, on a narrow panel at the right sharing the y
    axis, a histogram of the dataset's episode returns with its 10/50/90 % quantiles."""
    if not curves and not flat:
        raise ValueError("nothing to draw: no curve and no flat reference")
    targets_seen: list[float] = []
    for label, points in curves.items():
        if not points:
            raise ValueError(f"curve {label!r} has no points")
        targets = np.array(sorted(points), dtype=float)
        means = np.array([points[t][0] for t in targets], dtype=float)
        stds = np.array([points[t][1] for t in targets], dtype=float)
        if not (np.isfinite(targets).all() and np.isfinite(means).all() and np.isfinite(stds).all()):
            raise ValueError(f"curve {label!r} has a non-finite target, mean or std")
        (line,) = axes.plot(targets, means, marker="o", markersize=4, label=label)
        axes.fill_between(targets, means - stds, means + stds, color=line.get_color(), alpha=0.15, linewidth=0)
        targets_seen.extend(targets)
    for label, (mean, std) in (flat or {}).items():
        line = axes.axhline(mean, linestyle="--", linewidth=1.2, color="0.35", label=label)
        axes.axhspan(mean - std, mean + std, color=line.get_color(), alpha=0.08, linewidth=0)
    if targets_seen:
        low, high = min(targets_seen), max(targets_seen)
        axes.plot([low, high], [low, high], color="0.6", linewidth=1, linestyle=":", label="achieved = target")
    axes.set_xlabel("target return")
    axes.set_ylabel("achieved return")
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title, fontsize="medium")
    if dataset_returns is not None:
        returns = np.asarray(dataset_returns, dtype=float).reshape(-1)
        if returns.size == 0 or not np.isfinite(returns).all():
            raise ValueError("dataset_returns must be a non-empty array of finite episode returns")
        side = axes.inset_axes((1.02, 0.0, 0.18, 1.0), sharey=axes)
        side.hist(returns, bins=30, orientation="horizontal", color="0.6", alpha=0.7)
        for q in np.quantile(returns, (0.1, 0.5, 0.9)):
            side.axhline(q, color="0.3", linewidth=0.8)
        side.set_xticks([])
        side.tick_params(labelleft=False)
        side.set_title("data", fontsize="small")
    axes.legend(fontsize="x-small", loc="upper left")


def plot_return_conditioning(
    per_target: Mapping[float, Mapping[str, Any]],
    path: str | Path,
    *,
    dataset_returns: Sequence[float] | np.ndarray | None = None,
    flat: Mapping[str, tuple[float, float]] | None = None,
    label: str = "Decision Transformer",
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
    dpi: int = 100,
) -> Path:
    """Save a PNG of a Decision Transformer's achieved return against the return it was asked for.

    Args:
        per_target: target → an `evaluate(...)` result (`mean_return`, `std_return`), as in `results.json`'s
            `evaluation`; keys may be strings.
        dataset_returns: the training data's episode returns, drawn as a histogram beside the plot.
        flat: references that ignore the target (label → (mean, std)), e.g. behaviour cloning.
    """
    Figure, FigureCanvasAgg = _matplotlib()
    points = {float(t): (float(r["mean_return"]), float(r["std_return"])) for t, r in per_target.items()}
    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.11, 0.13, 0.68, 0.78))
    draw_return_conditioning(
        axes,
        {label: points},
        dataset_returns=dataset_returns,
        flat=flat,
        title=title or "Achieved return against target return (mean ± std over episodes)",
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi)
    return path


def history_from_log_history(log_history: Sequence[Mapping[str, Any]]) -> list[dict[str, float]]:
    """Evaluation history entries from a Trainer's `log_history` (as in `trainer_state.json`): every log with an
    `eval_env/return@<target>` value, with its `eval_env/return_std@<target>` (0 when absent)."""
    history = []
    for log in log_history:
        for key, value in log.items():
            match = _RETURN_LOG.match(key)
            if match is None:
                continue
            target = match.group(1)
            std = log.get(f"eval_env/return_std@{target}", 0.0)
            history.append({"step": int(log["step"]), "target_return": float(target), "mean": value, "std": std})
    return history


def record_video(
    model_or_agent,
    env_id: str,
    path: str | Path,
    target_return: float | None = None,
    seed: int = 0,
    max_steps: int = 1000,
    fps: int | None = None,
    env_kwargs: dict | None = None,
) -> dict[str, Any]:
    """Play one episode (at most `max_steps` steps) and write its `rgb_array` frames to an mp4 file.

    Args:
        model_or_agent: a model, wrapped in its one-env agent (`agent_for`; a Decision Transformer's at
            `target_return`, default the config's first target), or an agent acting in one environment.
        env_id: gymnasium id; the env must support `render_mode="rgb_array"` (classic control needs pygame).
        path: the mp4 to write.
        seed: the episode's reset seed.
        fps: frames per second; default the env's `render_fps` metadata (30 when absent).

    Returns:
        `{"path", "episode_return", "length", "frames"}`; the video has `length + 1` frames (the reset frame first).
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    agent = _single_env_agent(model_or_agent, target_return)
    imageio = _import("imageio.v2", "video")
    _import("imageio_ffmpeg", "video")
    import gymnasium as gym

    env = gym.make(env_id, render_mode="rgb_array", **(env_kwargs or {}))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fps = fps or env.metadata.get("render_fps") or 30
    episode_return, length = 0.0, 0
    try:
        observation, _ = env.reset(seed=seed)
        if hasattr(agent, "reset"):
            agent.reset()
        frame = _frame(env, env_id)
        # yuv420p needs even frame sizes; macro_block_size=2 pads odd ones instead of resizing to multiples of 16.
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=2) as writer:
            writer.append_data(frame)
            for _ in range(max_steps):
                action = agent.act(np.asarray(observation)[None])[0]
                observation, reward, terminated, truncated, _ = env.step(action)
                episode_return += float(reward)
                length += 1
                writer.append_data(_frame(env, env_id))
                agent.observe([reward], [terminated or truncated])
                if terminated or truncated:
                    break
    finally:
        env.close()
    return {"path": path, "episode_return": episode_return, "length": length, "frames": length + 1}


def _curves(history: Sequence[Mapping[str, Any]]) -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    if not history:
        raise ValueError("history is empty: nothing to plot")
    points: dict[float, list[tuple[float, float, float]]] = {}
    for index, entry in enumerate(history):
        missing = [key for key in HISTORY_KEYS if key not in entry]
        if missing:
            raise ValueError(f"history[{index}] lacks {missing}; entries need {list(HISTORY_KEYS)}")
        values = [float(entry[key]) for key in HISTORY_KEYS]
        if not np.all(np.isfinite(values)):
            raise ValueError(f"history[{index}] has a non-finite value: {dict(entry)}")
        points.setdefault(values[1], []).append((values[0], values[2], values[3]))
    curves = {}
    for target in sorted(points, reverse=True):
        steps, means, stds = np.array(sorted(points[target])).T
        curves[target] = (steps, means, stds)
    return curves


def _single_env_agent(model_or_agent, target_return: float | None):
    if hasattr(model_or_agent, "act") and hasattr(model_or_agent, "observe"):
        if target_return is not None:
            raise ValueError("target_return applies to a model; an agent already has its target return")
        if getattr(model_or_agent, "num_envs", 1) != 1:
            raise ValueError(f"record_video needs an agent acting in one env, got num_envs={model_or_agent.num_envs}")
        return model_or_agent
    options = {} if target_return is None else {"target_return": target_return}
    return agent_for(model_or_agent, num_envs=1, **options)


def _frame(env, env_id: str) -> np.ndarray:
    try:
        frame = env.render()
    except Exception as error:  # OpenGL fails in many ways (GLFW, glad, EGL): say what a headless machine needs
        headless = not os.environ.get("MUJOCO_GL") and not os.environ.get("DISPLAY")
        if not (headless and "mujoco" in type(env.unwrapped).__module__):
            raise
        raise RuntimeError(
            f"{env_id} could not render ({type(error).__name__}: {error}). MuJoCo renders through OpenGL and this "
            "machine has no display: set MUJOCO_GL=egl (with a GPU) or MUJOCO_GL=osmesa (CPU only) in the "
            "environment before starting Python"
        ) from error
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[-1] not in (3, 4):
        raise ValueError(f"{env_id} rendered {type(frame).__name__} instead of an [H, W, 3] rgb_array frame")
    return np.ascontiguousarray(frame[..., :3], dtype=np.uint8)


def _matplotlib():
    _import("matplotlib", "plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


def _import(module: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{module.split('.')[0]} is needed here; install the `{extra}` extra: pip install 'hf_decision[{extra}]'"
        ) from error
