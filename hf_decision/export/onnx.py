"""Export of hf_decision models to ONNX: the Decision Transformer on its K-step window, the DQN Q-network and the
REINFORCE policy on one observation, each with a dynamic batch dimension.

- `DecisionTransformerModel`: inputs `states [B, K, state_dim]` float, `actions [B, K, act_dim]` float (or `[B, K]`
  int64 when discrete), `returns_to_go [B, K, 1]` float, `timesteps [B, K]` int64, `attention_mask [B, K]` int64;
  first output `action_preds [B, K, act_dim]` (action logits when discrete).
- `QNetworkModel`: input `observations [B, state_dim]` float (raw); output `q_values [B, num_actions]`.
- `PolicyModel`: input `observations [B, state_dim]` float (raw); output `logits [B, act_dim]` (the Gaussian's mean
  when continuous).

The DT's inputs are named and shaped as `forward`'s arguments and follow its conventions (model space: normalized
states, scaled returns-to-go, left padding; see `hf_decision.models.decision_transformer`); K is the config's
`context_length`. The graph is the one the agents run (`state_tokens_only=True`). The MLP models normalize raw
observations inside the graph, as their `forward` does. Each file carries the model's config as JSON in its metadata
(`hf_decision_config`, with `hf_decision_model_type`), so the ONNX file acts on its own
(`hf_decision.export.load_onnx_agent`).

Exporter: torch's TorchScript-based exporter (`dynamo=False`). In torch 2.13 the default `torch.export`-based one
needs `onnxscript` and cannot trace the DT's forward as it is: its input checks turn tensor values into Python numbers
(the timestep range check), which `torch.export` refuses as data-dependent, while the TorchScript tracer only records
them as constants of a check that does not reach the graph. The tracer's graph reproduces the eager outputs to float
rounding (tested on whole episodes in tests/export/).
"""

from __future__ import annotations

import json
import warnings
from os import PathLike
from pathlib import Path

import torch
from torch import nn
from transformers import PreTrainedModel

import hf_decision
from hf_decision.models.decision_transformer import DecisionTransformerModel
from hf_decision.models.policy import PolicyModel
from hf_decision.models.q_network import QNetworkModel

try:
    import onnx
except ImportError as error:  # the `onnx` extra
    raise ImportError("ONNX export needs the onnx package: `pip install hf_decision[onnx]`") from error

ONNX_FILE = "model.onnx"
CONFIG_KEY = "hf_decision_config"
MODEL_TYPE_KEY = "hf_decision_model_type"
DEFAULT_OPSET = 17
DT_INPUTS = ("states", "actions", "returns_to_go", "timesteps", "attention_mask")


class _DecisionTransformerGraph(nn.Module):
    """The DT's forward on a full window as the agent runs it: the action predictions of every step."""

    def __init__(self, model: DecisionTransformerModel):
        super().__init__()
        self.model = model

    def forward(self, states, actions, returns_to_go, timesteps, attention_mask):
        return self.model(
            states=states,
            actions=actions,
            returns_to_go=returns_to_go,
            timesteps=timesteps,
            attention_mask=attention_mask,
            state_tokens_only=True,
            return_dict=True,
        ).action_preds


class _QNetworkGraph(nn.Module):
    def __init__(self, model: QNetworkModel):
        super().__init__()
        self.model = model

    def forward(self, observations):
        return self.model(observations).q_values


class _PolicyGraph(nn.Module):
    """The policy's action head on raw observations: `forward(observations).logits` without the distribution,
    whose argument validation the tracer cannot follow and whose entropy the graph does not need."""

    def __init__(self, model: PolicyModel):
        super().__init__()
        self.model = model

    def forward(self, observations):
        return self.model.action_head(self.model.features(observations))


def example_inputs(model: PreTrainedModel, batch_size: int = 2) -> dict[str, torch.Tensor]:
    """Inputs to trace (and to compare runtimes on): for the DT a batch of windows, the second one left-padded so
    that the traced graph goes through the padding mask; for the MLP models a batch of observations."""
    generator = torch.Generator().manual_seed(0)
    config = model.config
    if not isinstance(model, DecisionTransformerModel):
        return {"observations": torch.randn(batch_size, config.state_dim, generator=generator)}
    k = config.context_length
    if config.action_space == "discrete":
        actions = torch.randint(0, config.act_dim, (batch_size, k), generator=generator)
    else:
        actions = torch.rand(batch_size, k, config.act_dim, generator=generator) * 2 - 1
    mask = torch.ones(batch_size, k, dtype=torch.long)
    mask[1:, : k // 2] = 0
    timesteps = (torch.arange(k) + 3).clamp(max=config.max_ep_len - 1).expand(batch_size, k) * mask
    return {
        "states": torch.randn(batch_size, k, config.state_dim, generator=generator) * mask[..., None],
        "actions": actions * (mask if config.action_space == "discrete" else mask[..., None]),
        "returns_to_go": torch.randn(batch_size, k, 1, generator=generator) * mask[..., None],
        "timesteps": timesteps,
        "attention_mask": mask,
    }


def onnx_graph(model: PreTrainedModel) -> tuple[nn.Module, tuple[str, ...], str]:
    """The module `export_onnx` traces (its output is the graph's), its input names and its output name."""
    if isinstance(model, DecisionTransformerModel):
        return _DecisionTransformerGraph(model), DT_INPUTS, "action_preds"
    if isinstance(model, QNetworkModel):
        return _QNetworkGraph(model), ("observations",), "q_values"
    if isinstance(model, PolicyModel):
        return _PolicyGraph(model), ("observations",), "logits"
    if hasattr(model, "peft_config"):  # a LoRA model (peft): its adapters are folded in by merging, in place
        raise TypeError(
            f"cannot export a {type(model).__name__} (LoRA adapters) to ONNX: export "
            "hf_decision.models.decision_transformer.lora.merge_lora(model), the plain model it merges into"
        )
    raise TypeError(
        f"cannot export a {type(model).__name__} to ONNX: expected a Decision Transformer, Q-network or policy"
    )


def export_onnx(model: PreTrainedModel, path: str | PathLike, opset_version: int = DEFAULT_OPSET) -> Path:
    """Write `model` (a `DecisionTransformerModel`, `QNetworkModel` or `PolicyModel`) as an ONNX file at `path`,
    check it with `onnx.checker` and return the path. See the module docstring for the graph's inputs and outputs.

    The model is exported in eval mode (no dropout) and must be float32, the dtype the agents feed it.
    """
    graph, input_names, output_name = onnx_graph(model)
    if model.dtype != torch.float32:
        raise ValueError(f"export a float32 model (model.float()); this one is {model.dtype}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = example_inputs(model)
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():
            # The legacy exporter is deprecated in favour of `torch.export` (see the module docstring for why it is
            # used), and the tracer warns about the DT's Python-side input checks, which stay out of the graph.
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            # transformers' mask builder indexes the padding mask with aranges, never with negative indices, which
            # is what this warning is about (and what the parity tests would catch).
            warnings.filterwarnings("ignore", message="Exporting aten::index operator", category=UserWarning)
            torch.onnx.export(
                graph,
                tuple(inputs[name] for name in input_names),
                str(path),
                input_names=list(input_names),
                output_names=[output_name],
                dynamic_axes={name: {0: "batch_size"} for name in (*input_names, output_name)},
                opset_version=opset_version,
                dynamo=False,
            )
    finally:
        model.train(was_training)
    proto = onnx.load(str(path))
    onnx.helper.set_model_props(
        proto,
        {
            CONFIG_KEY: model.config.to_json_string(use_diff=False),
            MODEL_TYPE_KEY: model.config.model_type,
            "hf_decision_version": hf_decision.__version__,
        },
    )
    proto.doc_string = f"{type(model).__name__} exported by hf_decision {hf_decision.__version__}"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path


def read_onnx_config(path: str | PathLike) -> tuple[str, dict]:
    """The model type and config (as a dict) stored in the metadata of an ONNX file written by `export_onnx`."""
    proto = onnx.load(str(path), load_external_data=False)
    props = {prop.key: prop.value for prop in proto.metadata_props}
    if CONFIG_KEY not in props or MODEL_TYPE_KEY not in props:
        raise ValueError(
            f"{path} has no {CONFIG_KEY!r} metadata: it was not written by hf_decision's export_onnx, whose files "
            "carry the config the agent needs (K, state statistics, return scale)"
        )
    return props[MODEL_TYPE_KEY], json.loads(props[CONFIG_KEY])
