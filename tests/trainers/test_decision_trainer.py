import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from hf_decision import DecisionTransformerModel
from hf_decision.evaluation import evaluate
from hf_decision.trainers import parameter_groups
from tests.conftest import tiny_dt_config
from tests.trainers.tasks import ENV_ID, HORIZON, FixedText, make_trainer


def needs_mujoco(**kwargs):
    raise gym.error.DependencyNotInstalled('MuJoCo is not installed, run `pip install "gymnasium[mujoco]"`')


if "hf_decision_tests/NeedsMuJoCo-v0" not in gym.registry:
    gym.register("hf_decision_tests/NeedsMuJoCo-v0", entry_point=needs_mujoco)


def test_an_environment_that_cannot_be_made_fails_before_the_first_step(tmp_path):
    trainer = make_trainer(tmp_path, eval_env_steps=2)
    trainer.model.config.env_id = "hf_decision_tests/NeedsMuJoCo-v0"
    with pytest.raises(RuntimeError, match=r"cannot be made here.*pip install 'hf_decision\[mujoco\]'"):
        trainer.train()
    assert trainer.state.global_step == 0


def test_compute_loss_is_action_loss_plus_lambda_lm_loss(tmp_path):
    text = FixedText()
    trainer = make_trainer(tmp_path, lm_coef=0.3, language_batches=text)
    model = trainer.model.train()
    batch = trainer.data_collator(list(range(16)))
    loss = trainer.compute_loss(model, batch)
    action = model(**batch).loss
    lm = model.lm_forward(text.ids, labels=text.ids).loss
    torch.testing.assert_close(loss, action + 0.3 * lm)
    assert text.draws == 1


def test_lambda_zero_builds_no_text_pipeline(tmp_path, monkeypatch):
    import hf_decision.data.text as text

    def refuse(*args, **kwargs):
        raise AssertionError("a text pipeline was built with lm_coef=0")

    monkeypatch.setattr(text, "build_language_batches", refuse, raising=False)
    trainer = make_trainer(tmp_path, lm_coef=0.0)
    assert trainer.language_batches is None
    trainer.train()
    assert all("lm_loss" not in entry for entry in trainer.state.log_history)


@pytest.mark.parametrize("logging_steps", [1, 2])
def test_both_loss_parts_are_logged(tmp_path, logging_steps):
    """Each part is logged as its mean over the logging interval, like the loss: so loss = action + λ·lm holds."""
    trainer = make_trainer(
        tmp_path, lm_coef=0.5, language_batches=FixedText(), max_steps=4, logging_steps=logging_steps
    )
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logged) == 4 // logging_steps
    for entry in logged:
        assert entry["loss"] == pytest.approx(entry["action_loss"] + 0.5 * entry["lm_loss"], rel=1e-4)


def test_a_few_steps_change_the_parameters(tmp_path):
    trainer = make_trainer(tmp_path)
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.train()
    changed = [name for name, p in trainer.model.named_parameters() if not torch.equal(p, before[name])]
    assert "predict_action.weight" in changed and "transformer.h.0.attn.c_attn.weight" in changed
    assert "transformer.wte.weight" not in changed  # the text embedding gets no gradient without text


def test_total_flos_is_transformers_estimate_with_the_parameters_counted_once(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, max_steps=3)
    parameters = trainer.model.num_parameters(exclude_embeddings=True)
    model_class, calls = type(trainer.model), []
    count = model_class.num_parameters
    monkeypatch.setattr(model_class, "num_parameters", lambda self, **kw: calls.append(kw) or count(self, **kw))
    trainer.train()
    states = 16 * 4 * 2  # batch × K × state_dim elements of the main input, `states`
    assert trainer.state.total_flos == 3 * 6 * states * parameters
    assert calls == [{"exclude_embeddings": True}]


def test_statistics_are_written_into_the_config_and_saved(tmp_path):
    trainer = make_trainer(tmp_path)
    config = trainer.model.config
    obs = np.stack([[t / HORIZON, 1.0] for t in range(HORIZON)])
    np.testing.assert_allclose(config.state_mean, obs.mean(0), atol=1e-6)
    np.testing.assert_allclose(config.state_std, obs.std(0) + 1e-6, atol=1e-6)
    # suggested from the episode returns, 20 of 8 and 20 of 0: the best (8) first, then the 10 % quantile 0, the
    # median halfway between the 20th and 21st returns (4), the 90 % quantile 8 (already there) and 1.2 × 8
    assert config.target_returns == [8.0, 0.0, 4.0, 9.6]
    trainer.save_model(str(tmp_path / "final"))
    loaded = DecisionTransformerModel.from_pretrained(tmp_path / "final")
    assert loaded.config.state_mean == config.state_mean and loaded.config.env_id == ENV_ID


def test_parameter_groups_exclude_biases_norms_and_embeddings():
    model = DecisionTransformerModel(tiny_dt_config())
    groups = parameter_groups(model, weight_decay=0.1, learning_rate=1e-3, backbone_learning_rate=1e-5)
    by_param = {id(p): g for g in groups for p in g["params"]}
    names = dict(model.named_parameters())
    assert sum(len(g["params"]) for g in groups) == len(names)  # tied lm_head appears once
    assert by_param[id(names["embed_state.weight"])]["weight_decay"] == 0.1
    assert by_param[id(names["embed_state.bias"])]["weight_decay"] == 0.0
    assert by_param[id(names["embed_ln.weight"])]["weight_decay"] == 0.0
    assert by_param[id(names["embed_timestep.weight"])]["weight_decay"] == 0.0
    assert by_param[id(names["transformer.wte.weight"])]["weight_decay"] == 0.0
    assert by_param[id(names["transformer.h.0.mlp.c_fc.weight"])] == {
        "params": by_param[id(names["transformer.h.0.mlp.c_fc.weight"])]["params"],
        "weight_decay": 0.1,
        "lr": 1e-5,
    }
    assert by_param[id(names["predict_action.weight"])]["lr"] == 1e-3
    assert isinstance(model.transformer.h[0].ln_1, nn.LayerNorm)
    assert by_param[id(names["transformer.h.0.ln_1.weight"])]["weight_decay"] == 0.0


def test_trainer_optimizer_uses_the_groups(tmp_path):
    trainer = make_trainer(tmp_path, backbone_learning_rate=1e-5, weight_decay=0.01)
    optimizer = trainer.create_optimizer()
    assert sorted({g["lr"] for g in optimizer.param_groups}) == [1e-5, 1e-3]
    assert sorted({g["weight_decay"] for g in optimizer.param_groups}) == [0.0, 0.01]


def test_resume_continues_step_count_scheduler_and_optimizer(tmp_path):
    full = make_trainer(tmp_path / "full", max_steps=6, lm_coef=0.5, language_batches=FixedText())
    full.train()

    def checkpointing_trainer():
        return make_trainer(
            tmp_path / "resumed",
            max_steps=6,
            save_strategy="steps",
            save_steps=3,
            lm_coef=0.5,
            language_batches=FixedText(),
        )

    checkpointing_trainer().train()
    resumed = checkpointing_trainer()
    resumed.train(resume_from_checkpoint=str(tmp_path / "resumed" / "checkpoint-3"))
    assert resumed.language_batches.draws == 6  # 3 restored from the checkpoint + 3 new
    assert resumed.state.global_step == 6
    assert resumed.lr_scheduler.last_epoch == full.lr_scheduler.last_epoch == 6
    steps = {int(s["step"]) for s in resumed.optimizer.state_dict()["state"].values()}
    assert steps == {6}
    for (name, p), q in zip(resumed.model.named_parameters(), full.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=name)


def test_learns_the_dataset_actions_and_conditions_on_return(tmp_path):
    """A few hundred steps on the two-behaviour task: the DT reproduces each behaviour's actions given its
    return-to-go, and in the environment a high target earns the high return, a low target the low one."""
    trainer = make_trainer(tmp_path, max_steps=300, logging_steps=50, per_device_train_batch_size=32)
    trainer.train()
    model = trainer.model.eval()
    batch = trainer.data_collator(torch.arange(len(trainer.train_dataset)))
    with torch.no_grad():
        preds = model(**batch).action_preds
    real = batch["attention_mask"].bool()
    error = (preds - batch["actions"]).abs()[real]
    assert error.max() < 0.1, error.max()
    high = evaluate(model, ENV_ID, target_return=HORIZON, n_episodes=4, num_envs=2)
    low = evaluate(model, ENV_ID, target_return=0.0, n_episodes=4, num_envs=2)
    assert high["mean_return"] == HORIZON
    assert low["mean_return"] == 0.0
