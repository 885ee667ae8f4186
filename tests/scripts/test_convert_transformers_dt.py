import os
import subprocess
import sys
from pathlib import Path

import torch
from transformers import DecisionTransformerConfig as TransformersDTConfig
from transformers import DecisionTransformerModel as TransformersDT

from hf_decision import DecisionTransformerModel
from tests.conftest import random_window

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "convert_transformers_dt.py"


def test_cli_converts_and_stores_statistics(tmp_path):
    torch.manual_seed(0)
    source = TransformersDT(TransformersDTConfig(state_dim=3, act_dim=2, hidden_size=16, n_layer=1, max_ep_len=30))
    source.save_pretrained(tmp_path / "src")
    cmd = [sys.executable, str(SCRIPT), "--model_name_or_path", str(tmp_path / "src"), "--output_dir"]
    cmd += [str(tmp_path / "out"), "--context_length", "4", "--state_mean", "1", "2", "3", "--env_id", "Hopper-v5"]
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    model = DecisionTransformerModel.from_pretrained(tmp_path / "out")
    assert model.config.context_length == 4
    assert model.config.state_mean == [1.0, 2.0, 3.0]
    assert model.config.env_id == "Hopper-v5"
    batch = random_window(model.config, batch_size=2)
    assert torch.equal(model(**batch).action_preds, source.eval()(**batch).action_preds)
