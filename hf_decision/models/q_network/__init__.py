from hf_decision.models.q_network.configuration_q_network import QNetworkConfig
from hf_decision.models.q_network.modeling_q_network import QNetworkModel, QNetworkOutput

__all__ = ["QNetworkConfig", "QNetworkModel", "QNetworkOutput"]
