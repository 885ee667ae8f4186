"""The checks `DecisionTransformerModel.forward` runs on its inputs before any computation."""

from __future__ import annotations

from hf_decision.models.decision_transformer.configuration_decision_transformer import DecisionTransformerConfig


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
