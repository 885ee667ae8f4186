"""Agents exported whole: ONNX graphs of the models (`export_onnx`) and agents that run them with onnxruntime while
keeping the eager agents' context bookkeeping (`load_onnx_agent`). Needs the `onnx` extra."""

from hf_decision.export.onnx import ONNX_FILE, example_inputs, export_onnx, read_onnx_config
from hf_decision.export.runtime import (
    OnnxAgent,
    OnnxDecisionTransformerAgent,
    OnnxPolicyAgent,
    OnnxQNetworkAgent,
    load_onnx_agent,
    max_abs_difference,
)

__all__ = [
    "ONNX_FILE",
    "OnnxAgent",
    "OnnxDecisionTransformerAgent",
    "OnnxPolicyAgent",
    "OnnxQNetworkAgent",
    "example_inputs",
    "export_onnx",
    "load_onnx_agent",
    "max_abs_difference",
    "read_onnx_config",
]
