"""Agents that act through onnxruntime from a file written by `export_onnx`, with the eager agents' protocol
(`act`, `observe`, `reset`, `from_pretrained`), so `rollout`, `evaluate` and collection take them as they are.

`OnnxDecisionTransformerAgent` keeps its context in the same `DecisionContext` as `DecisionTransformerAgent` (K-step
windows, return-to-go and state normalization): only the forward pass differs. `OnnxQNetworkAgent` acts greedily,
`OnnxPolicyAgent` by the mode of π (argmax, or the Gaussian's mean). The config comes from the file's metadata.

    agent = load_onnx_agent("runs/dt-hopper-v5/model.onnx", num_envs=10)
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from transformers import PreTrainedConfig

from hf_decision.agents.base import Agent
from hf_decision.agents.context import DecisionContext
from hf_decision.export.onnx import ONNX_FILE, example_inputs, onnx_graph, read_onnx_config
from hf_decision.models import DecisionTransformerConfig, PolicyConfig, QNetworkConfig

try:
    import onnxruntime
except ImportError as error:  # the `onnx` extra
    raise ImportError("ONNX agents need onnxruntime: `pip install hf_decision[onnx]`") from error


def resolve_onnx_file(repo_id_or_path: str | PathLike, **hub_kwargs) -> Path:
    """An ONNX file given as itself, as a folder holding `model.onnx`, or as a Hub repo id holding one."""
    path = Path(repo_id_or_path)
    if path.is_file():
        return path
    if path.is_dir():
        if not (path / ONNX_FILE).is_file():
            raise FileNotFoundError(
                f"{path} has no {ONNX_FILE}: write it with `hf-decision-export --model_dir {path}`"
            )
        return path / ONNX_FILE
    from huggingface_hub import hf_hub_download  # a Hub id: only then is the Hub needed

    return Path(hf_hub_download(str(repo_id_or_path), ONNX_FILE, **hub_kwargs))


class OnnxAgent(Agent):
    """An onnxruntime session over an exported model and the model's config; batched over `num_envs`.

    Args:
        path: the ONNX file.
        num_envs: number of environments acted in at once.
        session_options: `onnxruntime.SessionOptions` (threads, graph optimization level); onnxruntime's defaults
            when None.
        providers: onnxruntime execution providers; default: CPU.
    """

    config_class: ClassVar[type[PreTrainedConfig]]
    output_name: ClassVar[str]

    def __init__(
        self,
        path: str | PathLike,
        num_envs: int = 1,
        session_options: onnxruntime.SessionOptions | None = None,
        providers: Sequence[str] | None = None,
    ):
        model_type, config = read_onnx_config(path)
        if model_type != self.config_class.model_type:
            raise ValueError(
                f"{path} holds a {model_type!r} model; {type(self).__name__} runs {self.config_class.model_type!r} "
                "(load_onnx_agent picks the agent for the file)"
            )
        self.config = self.config_class.from_dict(config)
        self.path = Path(path)
        self.num_envs = num_envs
        self.session = onnxruntime.InferenceSession(
            str(path), sess_options=session_options, providers=list(providers or ["CPUExecutionProvider"])
        )

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path: str | PathLike,
        num_envs: int = 1,
        session_options: onnxruntime.SessionOptions | None = None,
        providers: Sequence[str] | None = None,
        **hub_kwargs,
    ):
        """The agent over `model.onnx` of a folder or Hub repo, or over an ONNX file; `hub_kwargs` go to
        `hf_hub_download` (`revision`, `cache_dir`, `token`)."""
        path = resolve_onnx_file(repo_id_or_path, **hub_kwargs)
        return cls(path, num_envs=num_envs, session_options=session_options, providers=providers)

    def run(self, **inputs: np.ndarray) -> np.ndarray:
        """The graph's first output for `inputs` (numpy arrays named as the graph's inputs)."""
        return self.session.run([self.output_name], inputs)[0]

    def reset(self, env_indices=None) -> None:
        """Nothing to forget: the agent keeps no context."""

    def observe(self, rewards, dones=None) -> None:
        """Nothing to account for: the agent keeps no context."""

    def act(self, observations: np.ndarray | torch.Tensor, last_reward: float | None = None) -> np.ndarray:
        """Actions for `[num_envs, state_dim]` observations (or one `[state_dim]` observation)."""
        obs, unbatched = self.check_observations(observations, self.config.state_dim)
        actions = self._actions(self.run(observations=obs))
        return actions[0] if unbatched else actions

    def _actions(self, output: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxDecisionTransformerAgent(OnnxAgent):
    """`DecisionTransformerAgent` with onnxruntime running the network: same context, same actions.

    Args:
        path: the ONNX file of a `DecisionTransformerModel`.
        target_return: unscaled return to condition on; defaults to the first of the config's `target_returns`.
        num_envs, session_options, providers: as for `OnnxAgent`.
    """

    config_class = DecisionTransformerConfig
    output_name = "action_preds"

    def __init__(
        self,
        path: str | PathLike,
        target_return: float | Sequence[float] | None = None,
        num_envs: int = 1,
        session_options: onnxruntime.SessionOptions | None = None,
        providers: Sequence[str] | None = None,
    ):
        super().__init__(path, num_envs=num_envs, session_options=session_options, providers=providers)
        self.context = DecisionContext(self.config, target_return, num_envs)
        self.name = f"decision-transformer-onnx(target_return={self.context.target_return})"

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path: str | PathLike,
        target_return: float | Sequence[float] | None = None,
        num_envs: int = 1,
        session_options: onnxruntime.SessionOptions | None = None,
        providers: Sequence[str] | None = None,
        **hub_kwargs,
    ) -> OnnxDecisionTransformerAgent:
        """The agent over `model.onnx` of a folder or Hub repo, or over an ONNX file; `hub_kwargs` go to
        `hf_hub_download` (`revision`, `cache_dir`, `token`)."""
        path = resolve_onnx_file(repo_id_or_path, **hub_kwargs)
        return cls(path, target_return, num_envs, session_options=session_options, providers=providers)

    def reset(self, env_indices: Sequence[int] | np.ndarray | torch.Tensor | None = None) -> None:
        """Forget the context of the given environments (all by default): their next `act` starts an episode."""
        self.context.reset(env_indices)

    def act(
        self, observations: np.ndarray | torch.Tensor, last_reward: float | np.ndarray | None = None
    ) -> np.ndarray:
        """Actions for the current observations (`[num_envs, state_dim]`, or `[state_dim]` with one environment)."""
        if last_reward is not None:
            self.observe(np.asarray(last_reward, dtype=np.float32).reshape(self.num_envs))
        obs, unbatched = self.check_observations(observations, self.config.state_dim)
        inputs = self.context.add_observations(obs)
        action_preds = self.run(**{name: tensor.numpy() for name, tensor in inputs.items()})[:, -1]
        actions = self.context.add_actions(torch.from_numpy(action_preds))
        return actions[0] if unbatched else actions

    def observe(self, rewards: np.ndarray | Sequence[float], dones: np.ndarray | Sequence[bool] | None = None) -> None:
        """Account for the rewards of the last actions; environments flagged done start a new episode next."""
        self.context.observe(rewards, dones)


class OnnxQNetworkAgent(OnnxAgent):
    """Greedy `argmax_a Q_θ(s, a)` from the ONNX Q-network (as `QNetworkAgent` with `epsilon=0`)."""

    config_class = QNetworkConfig
    output_name = "q_values"

    def __init__(self, path: str | PathLike, num_envs: int = 1, **kwargs):
        super().__init__(path, num_envs=num_envs, **kwargs)
        self.name = "dqn-onnx(epsilon=0.0)"

    def _actions(self, output: np.ndarray) -> np.ndarray:
        return output.argmax(axis=-1)


class OnnxPolicyAgent(OnnxAgent):
    """The mode of π_θ(·|s) from the ONNX policy (as `PolicyAgent` with `deterministic=True`)."""

    config_class = PolicyConfig
    output_name = "logits"

    def __init__(self, path: str | PathLike, num_envs: int = 1, **kwargs):
        super().__init__(path, num_envs=num_envs, **kwargs)
        self.name = "policy-onnx(mode)"

    def _actions(self, output: np.ndarray) -> np.ndarray:
        return output.argmax(axis=-1) if self.config.action_space == "discrete" else output


ONNX_AGENTS: dict[str, type[OnnxAgent]] = {
    agent.config_class.model_type: agent
    for agent in (OnnxDecisionTransformerAgent, OnnxQNetworkAgent, OnnxPolicyAgent)
}


def load_onnx_agent(repo_id_or_path: str | PathLike, num_envs: int = 1, **kwargs) -> OnnxAgent:
    """The ONNX agent for the model type stored in the file (a file, a folder with `model.onnx`, or a Hub repo);
    `kwargs` go to the agent (`target_return` for a Decision Transformer, `session_options`, `providers`)."""
    path = resolve_onnx_file(repo_id_or_path)
    model_type, _ = read_onnx_config(path)
    if model_type not in ONNX_AGENTS:
        raise ValueError(f"{path} holds a {model_type!r} model; ONNX agents exist for {sorted(ONNX_AGENTS)}")
    return ONNX_AGENTS[model_type](path, num_envs=num_envs, **kwargs)


@torch.inference_mode()
def max_abs_difference(model, path: str | PathLike, batch_size: int = 4) -> float:
    """max |Δ| between the eager model's and the ONNX file's first output on `example_inputs(model, batch_size)`
    (for the DT: a full window and left-padded ones), through onnxruntime; NaN anywhere gives NaN."""
    graph, input_names, output_name = onnx_graph(model.eval())
    inputs = example_inputs(model, batch_size)
    expected = graph(*(inputs[name] for name in input_names)).float().numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run([output_name], {name: inputs[name].numpy() for name in input_names})[0]
    if expected.shape != actual.shape:
        raise ValueError(
            f"{path} outputs {output_name} of shape {list(actual.shape)}, expected {list(expected.shape)}"
        )
    return float(np.abs(expected - actual).max())
