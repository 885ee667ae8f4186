import pytest
import torch
from transformers import AutoConfig, AutoModel, GPT2Config, GPT2LMHeadModel, GPT2Model
from transformers import DecisionTransformerConfig as TransformersDTConfig
from transformers import DecisionTransformerModel as TransformersDT

from hf_decision import DecisionTransformerConfig, DecisionTransformerModel
from hf_decision.models.fast_dropout import FAST_DROPOUT_ATTENTION, use_fast_dropout
from hf_decision.objectives import action_loss, causal_lm_loss
from tests.conftest import random_window, tiny_dt_config

BOTH_SPACES = pytest.mark.parametrize("action_space", ["continuous", "discrete"])
BOTH_POSITIONS = pytest.mark.parametrize("positional_embedding", ["constant", "sequence"])


def make_model(seed=0, **overrides) -> DecisionTransformerModel:
    torch.manual_seed(seed)
    return DecisionTransformerModel(tiny_dt_config(**overrides)).eval()


@BOTH_SPACES
def test_output_shapes_and_loss(action_space):
    model = make_model(action_space=action_space, act_dim=3)
    batch = random_window(model.config, batch_size=2)
    out = model(**batch, labels=batch["actions"])
    assert out.action_preds.shape == (2, 5, 3)
    assert out.last_hidden_state.shape == (2, 15, 16)
    assert out.loss.shape == ()
    assert torch.equal(
        out.loss, action_loss(out.action_preds, batch["actions"], batch["attention_mask"], action_space)
    )
    assert model(**batch).loss is None


def test_continuous_loss_equals_hand_computed_mse():
    model = make_model(action_tanh=True)
    batch = random_window(model.config, batch_size=2)
    batch["attention_mask"][0, :2] = 0
    preds = model(**batch).action_preds
    assert preds.abs().max() <= 1.0  # tanh
    real = [(b, t) for b in range(2) for t in range(5) if batch["attention_mask"][b, t]]
    sq = sum(((preds[b, t] - batch["actions"][b, t]) ** 2).sum() for b, t in real)
    expected = sq / (len(real) * model.config.act_dim)
    loss = model(**batch, labels=batch["actions"]).loss
    torch.testing.assert_close(loss, expected)


def test_discrete_loss_equals_hand_computed_cross_entropy():
    model = make_model(action_space="discrete", act_dim=4)
    batch = random_window(model.config, batch_size=2)
    batch["attention_mask"][1, :3] = 0
    logits = model(**batch).action_preds
    real = [(b, t) for b in range(2) for t in range(5) if batch["attention_mask"][b, t]]
    nll = [-torch.log_softmax(logits[b, t], -1)[batch["actions"][b, t]] for b, t in real]
    loss = model(**batch, labels=batch["actions"]).loss
    torch.testing.assert_close(loss, torch.stack(nll).mean())


@BOTH_SPACES
@BOTH_POSITIONS
def test_left_padding_never_changes_a_real_prediction(action_space, positional_embedding):
    model = make_model(action_space=action_space, positional_embedding=positional_embedding)
    short = random_window(model.config, batch_size=2, seq_len=3, seed=1)
    garbage = random_window(model.config, batch_size=2, seq_len=2, seed=2)
    padded = {k: torch.cat([garbage[k], short[k]], dim=1) for k in short}
    padded["attention_mask"][:, :2] = 0
    reference = model(**short).action_preds
    result = model(**padded).action_preds[:, 2:]
    torch.testing.assert_close(result, reference, rtol=0, atol=1e-6)


@BOTH_SPACES
@BOTH_POSITIONS
def test_future_tokens_never_change_a_past_prediction(action_space, positional_embedding):
    model = make_model(action_space=action_space, positional_embedding=positional_embedding)
    batch = random_window(model.config, batch_size=2, seed=3)
    other = random_window(model.config, batch_size=2, seed=4)
    t = 2
    changed = {k: v.clone() for k, v in batch.items()}
    for key in ("states", "returns_to_go", "timesteps"):
        changed[key][:, t + 1 :] = other[key][:, t + 1 :]
    changed["actions"][:, t:] = other["actions"][:, t:]  # a_t itself is not seen by its own prediction
    before = model(**batch).action_preds
    after = model(**changed).action_preds
    torch.testing.assert_close(after[:, : t + 1], before[:, : t + 1], rtol=0, atol=1e-6)
    assert not torch.allclose(after[:, t + 1 :], before[:, t + 1 :])


def test_timestep_embedding_is_per_step_and_shared_by_its_three_tokens():
    model = make_model()
    batch = random_window(model.config, batch_size=1)
    shifted = dict(batch, timesteps=batch["timesteps"] + 1)
    assert not torch.allclose(model(**batch).action_preds, model(**shifted).action_preds)
    assert model.embed_timestep.num_embeddings == model.config.max_ep_len


@BOTH_SPACES
def test_save_and_load_give_bit_identical_outputs(tmp_path, action_space):
    model = make_model(action_space=action_space, state_mean=[0, 1, 2, 3], env_id="CartPole-v1")
    batch = random_window(model.config)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    loaded = DecisionTransformerModel.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded(**batch).action_preds, model(**batch).action_preds)
    assert loaded.config.state_mean == [0.0, 1.0, 2.0, 3.0]
    assert loaded.lm_head.weight.data_ptr() == loaded.transformer.wte.weight.data_ptr()


def test_auto_classes_load_the_model(tmp_path):
    model = make_model()
    model.save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), DecisionTransformerConfig)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, DecisionTransformerModel)
    batch = random_window(model.config)
    assert torch.equal(loaded(**batch).action_preds, model(**batch).action_preds)


def test_lm_forward_uses_the_tied_head_and_the_backbone():
    model = make_model()
    assert model.lm_head.weight is model.transformer.wte.weight
    ids = torch.randint(0, 32, (2, 7))
    out = model.lm_forward(ids, labels=ids)
    assert out.logits.shape == (2, 7, 32)
    torch.testing.assert_close(out.loss, causal_lm_loss(out.logits, ids))
    expected_logits = model.transformer(input_ids=ids).last_hidden_state @ model.transformer.wte.weight.T
    torch.testing.assert_close(out.logits, expected_logits)
    out.loss.backward()
    assert model.transformer.h[0].attn.c_attn.weight.grad.abs().sum() > 0
    assert model.embed_state.weight.grad is None


def save_tiny_gpt2(path, seed=0):
    torch.manual_seed(seed)
    config = GPT2Config(n_embd=24, n_layer=2, n_head=3, vocab_size=40, n_positions=48, n_inner=50)
    GPT2LMHeadModel(config).save_pretrained(path)
    return GPT2LMHeadModel.from_pretrained(path)


def test_from_pretrained_backbone_copies_every_backbone_tensor(tmp_path):
    source = save_tiny_gpt2(tmp_path)
    model = DecisionTransformerModel.from_pretrained_backbone(tmp_path, state_dim=4, act_dim=2, context_length=5)
    assert model.config.hidden_size == 24 and model.config.n_inner == 50 and model.config.vocab_size == 40
    assert model.config.backbone_name_or_path == str(tmp_path)
    source_state = source.transformer.state_dict()
    backbone_state = model.transformer.state_dict()
    assert source_state.keys() == backbone_state.keys()
    for key, value in source_state.items():
        assert torch.equal(backbone_state[key], value), key
    # The language path is the source language model.
    source.eval(), model.eval()
    ids = torch.randint(0, 40, (1, 9))
    torch.testing.assert_close(model.lm_forward(ids).logits, source(ids).logits, rtol=0, atol=1e-5)


def test_from_pretrained_backbone_refuses_a_conflicting_architecture(tmp_path):
    save_tiny_gpt2(tmp_path)
    with pytest.raises(ValueError, match="hidden_size"):
        DecisionTransformerModel.from_pretrained_backbone(tmp_path, hidden_size=32)


def test_an_unreachable_backbone_names_the_local_alternative(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DECISION_CACHE", str(tmp_path / "cache"))
    save_tiny_gpt2(tmp_path / "cache" / "gpt2-wikitext2-tiny")  # what pretraining here leaves in the cache

    def unreachable(*args, **kwargs):  # what transformers raises offline for a Hub id it has not cached
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(GPT2Model, "from_pretrained", unreachable)
    with pytest.raises(OSError, match="(?s)couldn.t connect.*pretrain_gpt2.py") as raised:
        DecisionTransformerModel.from_pretrained_backbone("gpt2", state_dim=4, act_dim=2)
    assert str(tmp_path / "cache" / "gpt2-wikitext2-tiny") in str(raised.value)


def test_gpt2_positions_reach_the_tokens_only_in_sequence_mode(tmp_path):
    save_tiny_gpt2(tmp_path)
    for mode, should_change in (("constant", False), ("sequence", True)):
        model = DecisionTransformerModel.from_pretrained_backbone(
            tmp_path, state_dim=4, act_dim=2, context_length=5, positional_embedding=mode
        ).eval()
        batch = random_window(model.config)
        before = model(**batch).action_preds
        with torch.no_grad():
            model.transformer.wpe.weight[1:] += torch.randn_like(model.transformer.wpe.weight[1:])
        changed = not torch.allclose(model(**batch).action_preds, before)
        assert changed == should_change, mode


@pytest.mark.parametrize("padded", [False, True])
def test_from_transformers_dt_gives_identical_action_preds(tmp_path, padded):
    torch.manual_seed(0)
    source_config = TransformersDTConfig(
        state_dim=4, act_dim=2, hidden_size=16, n_layer=2, n_head=2, max_ep_len=50, resid_pdrop=0.0
    )
    source = TransformersDT(source_config).eval()
    source.save_pretrained(tmp_path)
    model = DecisionTransformerModel.from_transformers_dt(tmp_path, context_length=5).eval()
    batch = random_window(model.config, batch_size=2, seed=5)
    if padded:
        batch["attention_mask"][0, :2] = 0
    expected = source(**batch).action_preds
    assert torch.equal(model(**batch).action_preds, expected)
    assert torch.equal(DecisionTransformerModel.from_transformers_dt(source)(**batch).action_preds, expected)


@BOTH_SPACES
def test_get_action_equals_forward_on_the_same_padded_context(action_space):
    model = make_model(action_space=action_space, act_dim=3)
    window = random_window(model.config, batch_size=1, seq_len=3, seed=6)
    unbatched = {k: v[0] for k, v in window.items() if k != "attention_mask"}
    action = model.get_action(**unbatched)
    padded = {k: torch.cat([torch.zeros_like(v[:, :2]), v], dim=1) for k, v in window.items()}
    preds = model(**padded).action_preds[0, -1]
    if action_space == "discrete":
        assert action.shape == () and action.item() == preds.argmax().item()
    else:
        assert torch.equal(action, preds)


def test_get_action_keeps_only_the_last_k_steps():
    model = make_model()
    long = random_window(model.config, batch_size=2, seq_len=9, seed=7)
    del long["attention_mask"]
    last_k = {k: v[:, -5:] for k, v in long.items()}
    assert torch.equal(model.get_action(**long), model(**last_k).action_preds[:, -1])
    rtg_flat = dict(long, returns_to_go=long["returns_to_go"][..., 0])
    assert torch.equal(model.get_action(**rtg_flat), model.get_action(**long))


def test_normalization_helpers_use_the_config_statistics():
    model = make_model(state_mean=[1, 2, 3, 4], state_std=[2, 2, 2, 2], return_scale=100)
    states = torch.tensor([[3.0, 2.0, 1.0, 0.0]])
    torch.testing.assert_close(model.normalize_states(states), torch.tensor([[1.0, 0.0, -1.0, -2.0]]))
    torch.testing.assert_close(model.scale_returns(torch.tensor([250.0])), torch.tensor([2.5]))
    assert torch.equal(make_model().normalize_states(states), states)


@pytest.mark.parametrize(
    ("key", "value", "name"),
    [
        ("actions", torch.zeros(2, 5, 3), "actions"),
        ("timesteps", torch.zeros(2, 4, dtype=torch.long), "timesteps"),
        ("attention_mask", torch.ones(2, 6), "attention_mask"),
    ],
)
def test_wrong_input_shapes_raise_naming_the_tensor(key, value, name):
    model = make_model()
    batch = random_window(model.config, batch_size=2)
    batch[key] = value
    with pytest.raises(ValueError, match=name):
        model(**batch)


def test_training_step_on_a_padded_batch_gives_finite_gradients():
    model = make_model(resid_pdrop=0.1, attn_pdrop=0.1, embd_pdrop=0.1).train()
    batch = random_window(model.config, batch_size=4)
    batch["attention_mask"][:, :3] = 0
    model(**batch, labels=batch["actions"]).loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert all(torch.isfinite(g).all() for g in grads)
    assert model.predict_action.weight.grad.abs().sum() > 0


def test_forward_with_text_returns_both_losses():
    model = make_model()
    batch = random_window(model.config)
    ids = torch.randint(0, 32, (2, 6))
    out = model(**batch, labels=batch["actions"], lm_input_ids=ids)
    torch.testing.assert_close(out.loss, model(**batch, labels=batch["actions"]).loss)
    torch.testing.assert_close(out.lm_loss, model.lm_forward(ids, labels=ids).loss)


@pytest.mark.parametrize("condition_on_returns", [True, False])
def test_behaviour_cloning_ignores_the_returns_to_go(condition_on_returns):
    torch.manual_seed(0)
    model = DecisionTransformerModel(tiny_dt_config(condition_on_returns=condition_on_returns)).eval()
    inputs = random_window(model.config)
    other = inputs | {"returns_to_go": inputs["returns_to_go"] + 5.0}
    same = torch.equal(model(**inputs).action_preds, model(**other).action_preds)
    assert same == (not condition_on_returns)


@pytest.mark.parametrize("condition_on_timesteps", [True, False])
def test_without_a_clock_the_timestep_changes_nothing(condition_on_timesteps):
    torch.manual_seed(0)
    model = DecisionTransformerModel(tiny_dt_config(condition_on_timesteps=condition_on_timesteps)).eval()
    inputs = random_window(model.config)
    later = inputs | {"timesteps": inputs["timesteps"] + 3}
    same = torch.equal(model(**inputs).action_preds, model(**later).action_preds)
    assert same == (not condition_on_timesteps)
    if not condition_on_timesteps:  # every step reads timestep 0's embedding, the same as a window at t = 0
        at_zero = inputs | {"timesteps": torch.zeros_like(inputs["timesteps"])}
        clocked = DecisionTransformerModel(
            model.config.__class__(**(model.config.to_dict() | {"condition_on_timesteps": True}))
        )
        clocked.load_state_dict(model.state_dict())
        assert torch.equal(model(**inputs).action_preds, clocked.eval()(**at_zero).action_preds)


@pytest.mark.parametrize("attention", ["eager", "sdpa", "fast_dropout"])
@pytest.mark.parametrize("padded", [False, True])
@BOTH_SPACES
def test_state_tokens_only_gives_the_same_loss_predictions_and_gradients(attention, padded, action_space):
    model = make_model(
        n_layer=3, action_space=action_space, attn_implementation="eager" if attention == "eager" else "sdpa"
    )
    if attention == "fast_dropout":  # its eager attention is only switched on where attention dropout is used
        model.transformer.config.attn_pdrop = 0.1
        use_fast_dropout(model)
        model.transformer.config.attn_pdrop = 0.0
        assert model.transformer.config._attn_implementation == FAST_DROPOUT_ATTENTION
    batch = random_window(model.config, batch_size=3)
    if padded:
        batch["attention_mask"][0, :2] = 0
        batch["attention_mask"][1, :4] = 0
    runs = []
    for state_tokens_only in (False, True):
        model.zero_grad()
        out = model(**batch, labels=batch["actions"], state_tokens_only=state_tokens_only)
        out.loss.backward()
        runs.append((out, {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}))
    (full, full_grads), (states_only, grads) = runs
    torch.testing.assert_close(states_only.loss, full.loss)
    real = batch["attention_mask"].bool()  # a padded step's output is arbitrary (it attends to nothing real)
    torch.testing.assert_close(states_only.action_preds[real], full.action_preds[real])
    torch.testing.assert_close(states_only.last_hidden_state[real], full.last_hidden_state[:, 1::3][real])
    assert grads.keys() == full_grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, full_grads[name], msg=name)


def test_state_tokens_only_falls_back_to_every_token_with_hidden_states():
    model = make_model()
    batch = random_window(model.config, batch_size=2)
    out = model(**batch, state_tokens_only=True, output_hidden_states=True)
    assert out.last_hidden_state.shape == (2, 15, 16)
    assert len(out.hidden_states) == model.config.n_layer + 1
    torch.testing.assert_close(out.action_preds, model(**batch).action_preds)
