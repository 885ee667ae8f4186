import pytest
import torch
from huggingface_hub import constants

from hf_decision import DecisionTransformerConfig
from tests.hub_server import FakeHub


def tiny_dt_config(**overrides) -> DecisionTransformerConfig:
    """A DT small enough to run in milliseconds, with dropout off so outputs are deterministic."""
    kwargs = dict(
        state_dim=4,
        act_dim=2,
        context_length=5,
        max_ep_len=50,
        hidden_size=16,
        n_layer=2,
        n_head=2,
        vocab_size=32,
        n_positions=64,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    kwargs.update(overrides)
    return DecisionTransformerConfig(**kwargs)


def tiny_cartpole_model(**overrides):
    """A tiny, eval-mode discrete DT for CartPole-v1 that acts on its own (env id and target return stored)."""
    from hf_decision import DecisionTransformerModel

    torch.manual_seed(0)
    kwargs = dict(
        state_dim=4,
        act_dim=2,
        action_space="discrete",
        hidden_size=16,
        n_layer=1,
        n_head=1,
        vocab_size=16,
        max_ep_len=500,
        context_length=5,
        env_id="CartPole-v1",
        target_returns=[500.0],
    )
    kwargs.update(overrides)
    return DecisionTransformerModel(DecisionTransformerConfig(**kwargs)).eval()


def random_window(config: DecisionTransformerConfig, batch_size: int = 3, seq_len: int | None = None, seed: int = 0):
    """A batch of random, unpadded windows matching `config`, as forward's keyword arguments."""
    seq_len = seq_len or config.context_length
    g = torch.Generator().manual_seed(seed)
    if config.action_space == "discrete":
        actions = torch.randint(0, config.act_dim, (batch_size, seq_len), generator=g)
    else:
        actions = torch.rand(batch_size, seq_len, config.act_dim, generator=g) * 2 - 1
    start = torch.randint(0, config.max_ep_len - seq_len, (batch_size, 1), generator=g)
    return dict(
        states=torch.randn(batch_size, seq_len, config.state_dim, generator=g),
        actions=actions,
        returns_to_go=torch.randn(batch_size, seq_len, 1, generator=g),
        timesteps=start + torch.arange(seq_len),
        attention_mask=torch.ones(batch_size, seq_len, dtype=torch.long),
    )


# Examples of what agent cards and folders are made from, shared by tests/cards and tests/test_hub.py.
def result(mean, std, target, score=None):
    return {
        "mean_return": mean,
        "std_return": std,
        "returns": [mean - std, mean + std],
        "lengths": [int(mean - std), int(mean + std)],
        "normalized_score": score,
        "target_return": target,
    }


# The shape `evaluate` returns for two targets.
EVAL_RESULTS = {
    **result(21.0, 3.0, 500.0),
    "per_target": {500.0: result(21.0, 3.0, 500.0), 250.0: result(12.5, 1.25, 250.0, 42.0)},
}
STATISTICS = {
    "state_mean": [0.0] * 4,
    "state_std": [1.0] * 4,
    "return_mean": 123.4,
    "return_std": 50.0,
    "return_min": 9.0,
    "return_max": 500.0,
    "num_episodes": 100,
    "num_steps": 12345,
    "episode_length_mean": 123.45,
    "episode_length_max": 500,
}
HISTORY = [{"step": s, "target_return": 500.0, "mean": 10.0 + s / 100, "std": 2.0} for s in (100, 200, 300)]
TRAINING = {"lm_coef": 0.1, "learning_rate": 1e-4, "per_device_train_batch_size": 64, "seed": 0}


@pytest.fixture
def seeded():
    torch.manual_seed(0)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The fake Hub, with huggingface_hub pointed at it and online for this test only."""
    with FakeHub() as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        # huggingface_hub reads HF_ENDPOINT at import time into these two constants.
        monkeypatch.setattr(constants, "ENDPOINT", fake.url)
        monkeypatch.setattr(
            constants, "HUGGINGFACE_CO_URL_TEMPLATE", fake.url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
        monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agent_harnesses.json"))
        yield fake
        assert fake.unhandled == []
