"""The checks `DecisionTransformerModel` runs on its inputs: `forward`'s tensors, and what `from_pretrained` loads."""

from __future__ import annotations

from pathlib import Path

from transformers.utils import ADAPTER_CONFIG_NAME, find_adapter_config_file

from hf_decision.models.decision_transformer.configuration_decision_transformer import DecisionTransformerConfig

# `from_pretrained` keyword arguments that say where and how to find a checkpoint on the Hub
HUB_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "force_download", "subfolder")


def check_inputs(config: DecisionTransformerConfig, states, actions, returns_to_go, timesteps, attention_mask) -> None:
    """Shape checks that name the tensor and the expected shape, and (on CPU only, where it costs no device sync)
    a range check of the timesteps, which would otherwise fail as an opaque embedding `IndexError`."""
    if states.dim() != 3 or states.shape[-1] != config.state_dim:
        raise ValueError(f"states must be [B, K, state_dim={config.state_dim}], got {list(states.shape)}")
    batch_seq = list(states.shape[:2])
    if config.positional_embedding == "sequence" and 3 * batch_seq[1] > config.n_positions:
        raise ValueError(f"a window of {batch_seq[1]} steps needs {3 * batch_seq[1]} > n_positions positions")
    if config.action_space == "discrete":
        expected = batch_seq
        if actions.dtype.is_floating_point:
            raise ValueError(f"discrete actions must be integer indices, got dtype {actions.dtype}")
    else:
        expected = batch_seq + [config.act_dim]
    for name, tensor, shape in (
        ("actions", actions, expected),
        ("returns_to_go", returns_to_go, batch_seq + [1]),
        ("timesteps", timesteps, batch_seq),
        ("attention_mask", attention_mask, batch_seq),
    ):
        if tensor is not None and list(tensor.shape) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {list(tensor.shape)}")
    if timesteps.device.type == "cpu" and timesteps.numel():
        low, high = int(timesteps.min()), int(timesteps.max())
        if low < 0 or high >= config.max_ep_len:
            raise ValueError(
                f"timesteps must lie in [0, max_ep_len={config.max_ep_len}), got values in [{low}, {high}]"
            )


def is_lora_checkpoint(name_or_path, from_pretrained_kwargs: dict) -> bool:
    """Whether `from_pretrained(name_or_path, **from_pretrained_kwargs)` points at a LoRA adapter checkpoint: a folder
    (or Hub repo) with `adapter_config.json`, or what transformers' `AutoModel` marked as one."""
    if (from_pretrained_kwargs.get("adapter_kwargs") or {}).get("_adapter_model_path"):
        return True
    if name_or_path is None:
        return False
    folder = Path(name_or_path) / from_pretrained_kwargs.get("subfolder", "")
    if folder.is_dir():
        return (folder / ADAPTER_CONFIG_NAME).is_file()
    hub = {name: from_pretrained_kwargs[name] for name in HUB_KWARGS if name in from_pretrained_kwargs}
    try:
        return find_adapter_config_file(str(name_or_path), **hub) is not None
    except (OSError, ValueError):  # unreachable or not a repo id: `from_pretrained` names the problem
        return False
