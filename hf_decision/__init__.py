"""hf_decision: offline reinforcement learning with Decision Transformers, in the Hugging Face ecosystem."""

from transformers import AutoConfig, AutoModel

from hf_decision.agents import DecisionTransformerAgent, PolicyAgent, QNetworkAgent
from hf_decision.models import (
    DecisionTransformerConfig,
    DecisionTransformerModel,
    PolicyConfig,
    PolicyModel,
    QNetworkConfig,
    QNetworkModel,
)

__version__ = "0.1.0.dev0"

for _config, _model in (
    (DecisionTransformerConfig, DecisionTransformerModel),
    (QNetworkConfig, QNetworkModel),
    (PolicyConfig, PolicyModel),
):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModel.register(_config, _model, exist_ok=True)


def __getattr__(name: str):
    # `evaluate` steps gymnasium envs: imported on first use, so that `import hf_decision.models` (which runs this
    # file) loads neither gymnasium nor the evaluation code.
    if name == "evaluate":
        from hf_decision.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'hf_decision' has no attribute {name!r}")


__all__ = [
    "DecisionTransformerAgent",
    "DecisionTransformerConfig",
    "DecisionTransformerModel",
    "PolicyAgent",
    "PolicyConfig",
    "PolicyModel",
    "QNetworkAgent",
    "QNetworkConfig",
    "QNetworkModel",
    "__version__",
    "evaluate",
]
