"""hf_decision: offline reinforcement learning with Decision Transformers, in the Hugging Face ecosystem."""

from transformers import AutoConfig, AutoModel

from hf_decision.agents import DecisionTransformerAgent, PolicyAgent, QNetworkAgent
from hf_decision.evaluation import evaluate
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
