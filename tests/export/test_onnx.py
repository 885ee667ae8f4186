"""`export_onnx`: graph names and shapes, dynamic batch, outputs equal to the eager model's, config in the metadata."""

import inspect

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from hf_decision import DecisionTransformerModel  # noqa: E402
from hf_decision.export import example_inputs, export_onnx, read_onnx_config  # noqa: E402
from hf_decision.models import PolicyConfig, PolicyModel, QNetworkConfig, QNetworkModel  # noqa: E402
from tests.conftest import tiny_dt_config  # noqa: E402


def tiny_dt(**overrides) -> DecisionTransformerModel:
    torch.manual_seed(0)
    kwargs = dict(state_mean=[1.0, 0.0, -1.0, 2.0], state_std=[2.0, 1.0, 1.0, 0.5], target_returns=[20.0])
    return DecisionTransformerModel(tiny_dt_config(**{**kwargs, **overrides})).eval()


def run(path, inputs: dict) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})


def test_dt_graph_is_named_as_forward_with_a_dynamic_batch(tmp_path):
    model = tiny_dt()
    path = export_onnx(model, tmp_path / "dt.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    forward_arguments = list(inspect.signature(model.forward).parameters)[:5]
    assert [i.name for i in proto.graph.input] == forward_arguments
    assert forward_arguments == ["states", "actions", "returns_to_go", "timesteps", "attention_mask"]
    assert proto.graph.output[0].name == "action_preds"
    for value in (*proto.graph.input, proto.graph.output[0]):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch_size"
    for value in proto.graph.input:
        assert value.type.tensor_type.shape.dim[1].dim_value == 5  # the K-step window
    states = proto.graph.input[0].type.tensor_type
    assert states.elem_type == onnx.TensorProto.FLOAT and states.shape.dim[2].dim_value == 4


@pytest.mark.parametrize("action_space", ["continuous", "discrete"])
@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_dt_graph_reproduces_forward_at_any_batch_size_with_padding(tmp_path, action_space, batch_size):
    model = tiny_dt(action_space=action_space, act_dim=3)
    path = export_onnx(model, tmp_path / "dt.onnx")
    inputs = example_inputs(model, batch_size)  # rows after the first are left-padded
    with torch.no_grad():
        expected = model(**inputs, state_tokens_only=True).action_preds.numpy()
    (actual,) = run(path, inputs)
    assert actual.shape == (batch_size, 5, 3)
    real = inputs["attention_mask"].bool().numpy()
    assert np.abs(actual - expected)[real].max() <= 1e-5
    assert np.isfinite(actual).all()


def test_padding_in_the_graph_does_not_change_the_newest_prediction(tmp_path):
    """The padded steps' values must not leak into the graph's output: the mask is a real input, not a constant."""
    model = tiny_dt()
    path = export_onnx(model, tmp_path / "dt.onnx")
    inputs = example_inputs(model, 2)
    changed = {name: tensor.clone() for name, tensor in inputs.items()}
    changed["states"][1, :2] = 7.0  # row 1 is padded over its first half
    changed["returns_to_go"][1, :2] = -3.0
    (before,), (after,) = run(path, inputs), run(path, changed)
    np.testing.assert_allclose(after[1, -1], before[1, -1], rtol=0, atol=1e-6)
    unmasked_inputs = {**changed, "attention_mask": torch.ones_like(changed["attention_mask"])}
    (unmasked,) = run(path, unmasked_inputs)
    assert np.abs(unmasked[1, -1] - before[1, -1]).max() > 1e-5  # unmasked, those steps do count
    with torch.no_grad():
        eager = model(**unmasked_inputs, state_tokens_only=True).action_preds.numpy()
    np.testing.assert_allclose(unmasked, eager, rtol=0, atol=1e-6)


def test_mlp_graphs_reproduce_the_models(tmp_path):
    torch.manual_seed(0)
    normalization = dict(state_mean=[1.0, -2.0, 0.5], state_std=[2.0, 0.5, 1.0])
    q_network = QNetworkModel(QNetworkConfig(state_dim=3, num_actions=4, hidden_sizes=[8, 8], **normalization))
    discrete = PolicyModel(PolicyConfig(state_dim=3, act_dim=4, hidden_sizes=[8], value_head=True, **normalization))
    continuous = PolicyModel(PolicyConfig(state_dim=3, act_dim=2, action_space="continuous", hidden_sizes=[8]))
    observations = {"observations": torch.randn(6, 3) * 3}
    for name, model, output in (
        ("q", q_network, "q_values"),
        ("discrete", discrete, "logits"),
        ("continuous", continuous, "logits"),
    ):
        path = export_onnx(model, tmp_path / f"{name}.onnx")
        proto = onnx.load(str(path))
        assert [i.name for i in proto.graph.input] == ["observations"]
        assert [o.name for o in proto.graph.output] == [output]
        (actual,) = run(path, observations)
        with torch.no_grad():
            expected = getattr(model(observations["observations"]), output).numpy()
        assert actual.shape == expected.shape and np.abs(actual - expected).max() <= 1e-6


def test_the_file_carries_the_config(tmp_path):
    model = tiny_dt(env_id="Hopper-v5", return_scale=1000.0)
    path = export_onnx(model, tmp_path / "dt.onnx")
    model_type, config = read_onnx_config(path)
    assert model_type == "hf_decision_transformer"
    assert config["state_std"] == [2.0, 1.0, 1.0, 0.5] and config["return_scale"] == 1000.0
    assert config["context_length"] == 5 and config["env_id"] == "Hopper-v5"


def test_export_refuses_what_it_cannot_export(tmp_path):
    with pytest.raises(TypeError, match="cannot export a Linear"):
        export_onnx(torch.nn.Linear(2, 2), tmp_path / "linear.onnx")
    with pytest.raises(ValueError, match="float32"):
        export_onnx(tiny_dt().to(torch.bfloat16), tmp_path / "bf16.onnx")
    foreign = tmp_path / "foreign.onnx"
    torch.onnx.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2),), str(foreign), dynamo=False)
    with pytest.raises(ValueError, match="not written by hf_decision"):
        read_onnx_config(foreign)


def test_export_keeps_the_training_mode(tmp_path):
    model = tiny_dt().train()
    export_onnx(model, tmp_path / "dt.onnx")
    assert model.training
