"""Shared output of the benchmark scripts: the result as JSON and a markdown table, written and printed."""

from __future__ import annotations

import json
from pathlib import Path


def write_results(output_dir: str | Path, name: str, result: dict, table: str) -> None:
    """Write `<name>.json` and `<name>.md` into `output_dir` (created) and print the table."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    (out / f"{name}.md").write_text(table)
    print(table)
