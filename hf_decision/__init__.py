"""hf_decision: offline reinforcement learning with Decision Transformers, in the Hugging Face ecosystem."""

from transformers import AutoConfig, AutoModel

from hf_decision.agents import DecisionTransformerAgent
from hf_decision.evaluation import evaluate
from hf_decision.models import DecisionTransformerConfig, DecisionTransformerModel

__version__ = "0.1.0.dev0"

AutoConfig.register(DecisionTransformerConfig.model_type, DecisionTransformerConfig, exist_ok=True)
AutoModel.register(DecisionTransformerConfig, DecisionTransformerModel, exist_ok=True)

__all__ = [
    "DecisionTransformerAgent",
    "DecisionTransformerConfig",
    "DecisionTransformerModel",
    "__version__",
    "evaluate",
]
