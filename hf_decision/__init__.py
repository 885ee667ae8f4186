"""hf_decision: offline reinforcement learning with Decision Transformers, in the Hugging Face ecosystem.

`import hf_decision` registers the package's model types with transformers' `AutoConfig` / `AutoModel` (so
`AutoModel.from_pretrained(agent_folder)` works after it) and exposes the public names below. The models and the
checkpoint errors are imported at once (registration needs them); everything else is imported on first use, as
transformers does, so that `import hf_decision` stays quick and does not pull in gymnasium, datasets' trainers or
matplotlib before they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from transformers import AutoConfig, AutoModel

from hf_decision.models import (
    DecisionTransformerConfig,
    DecisionTransformerModel,
    PolicyConfig,
    PolicyModel,
    QNetworkConfig,
    QNetworkModel,
)
from hf_decision.models.base import CheckpointError, HFDecisionPreTrainedModel, UnsafeCheckpointError

__version__ = "0.1.0.dev0"

for _config, _model in (
    (DecisionTransformerConfig, DecisionTransformerModel),
    (QNetworkConfig, QNetworkModel),
    (PolicyConfig, PolicyModel),
):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModel.register(_config, _model, exist_ok=True)

# public name → the module it is imported from on first access
_LAZY: dict[str, str] = {
    # agents: trained models wrapped for acting
    "DecisionTransformerAgent": "hf_decision.agents",
    "PolicyAgent": "hf_decision.agents",
    "QNetworkAgent": "hf_decision.agents",
    "agent_for": "hf_decision.agents",
    # data: loading, the store and its views, targets, collection
    "DecisionCollator": "hf_decision.data",
    "DecisionWindows": "hf_decision.data",
    "Episodes": "hf_decision.data",
    "LanguageBatches": "hf_decision.data.text",
    "TrajectoryStore": "hf_decision.data",
    "Transitions": "hf_decision.data",
    "collect": "hf_decision.collection",
    "load_trajectories": "hf_decision.data",
    "suggest_target_returns": "hf_decision.data",
    # trainers and their configs
    "DQNConfig": "hf_decision.trainers",
    "DQNTrainer": "hf_decision.trainers",
    "DecisionTransformerTrainer": "hf_decision.trainers",
    "DecisionTransformerTrainingConfig": "hf_decision.trainers",
    "NonFiniteLossError": "hf_decision.trainers.base",
    "RunLockError": "hf_decision.trainers.run_lock",
    "OfflineRLTrainer": "hf_decision.trainers",
    "OnlineDecisionTransformerConfig": "hf_decision.trainers",
    "OnlineDecisionTransformerTrainer": "hf_decision.trainers",
    "RLTrainer": "hf_decision.trainers",
    "ReinforceConfig": "hf_decision.trainers",
    "ReinforceTrainer": "hf_decision.trainers",
    "PolicyGradientConfig": "hf_decision.trainers",
    "PolicyGradientTrainer": "hf_decision.trainers",
    "cpu_has_fast_bf16": "hf_decision.trainers",
    # evaluation, cards and the Hub, plots
    "evaluate": "hf_decision.evaluation",
    "rollout": "hf_decision.evaluation",
    # ONNX export and onnxruntime agents (the `onnx` extra)
    "export_onnx": "hf_decision.export",
    "load_onnx_agent": "hf_decision.export",
    "normalized_score": "hf_decision.evaluation",
    "push_agent_to_hub": "hf_decision.hub",
    "save_agent_folder": "hf_decision.hub",
    "plot_return_conditioning": "hf_decision.plots",
}

__all__ = [
    "CheckpointError",
    "DQNConfig",
    "DQNTrainer",
    "DecisionCollator",
    "DecisionTransformerAgent",
    "DecisionTransformerConfig",
    "DecisionTransformerModel",
    "DecisionTransformerTrainer",
    "DecisionTransformerTrainingConfig",
    "DecisionWindows",
    "Episodes",
    "HFDecisionPreTrainedModel",
    "LanguageBatches",
    "NonFiniteLossError",
    "OfflineRLTrainer",
    "OnlineDecisionTransformerConfig",
    "OnlineDecisionTransformerTrainer",
    "PolicyAgent",
    "PolicyConfig",
    "PolicyGradientConfig",
    "PolicyGradientTrainer",
    "PolicyModel",
    "QNetworkAgent",
    "QNetworkConfig",
    "QNetworkModel",
    "RLTrainer",
    "ReinforceConfig",
    "ReinforceTrainer",
    "RunLockError",
    "TrajectoryStore",
    "Transitions",
    "UnsafeCheckpointError",
    "agent_for",
    "collect",
    "cpu_has_fast_bf16",
    "evaluate",
    "export_onnx",
    "load_onnx_agent",
    "load_trajectories",
    "normalized_score",
    "plot_return_conditioning",
    "push_agent_to_hub",
    "rollout",
    "save_agent_folder",
    "suggest_target_returns",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'hf_decision' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from hf_decision.agents import DecisionTransformerAgent, PolicyAgent, QNetworkAgent, agent_for
    from hf_decision.data import (
        DecisionCollator,
        DecisionWindows,
        Episodes,
        TrajectoryStore,
        Transitions,
        collect,
        load_trajectories,
        suggest_target_returns,
    )
    from hf_decision.data.text import LanguageBatches
    from hf_decision.evaluation import evaluate, normalized_score
    from hf_decision.hub import push_agent_to_hub, save_agent_folder
    from hf_decision.plots import plot_return_conditioning
    from hf_decision.trainers import (
        DecisionTransformerTrainer,
        DecisionTransformerTrainingConfig,
        DQNConfig,
        DQNTrainer,
        OfflineRLTrainer,
        OnlineDecisionTransformerConfig,
        OnlineDecisionTransformerTrainer,
        PolicyGradientConfig,
        PolicyGradientTrainer,
        cpu_has_fast_bf16,
    )
    from hf_decision.trainers.base import NonFiniteLossError
    from hf_decision.trainers.run_lock import RunLockError
