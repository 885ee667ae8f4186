"""The README runs as written: its commands and snippets, offline, in a fresh folder.

Fast tests parse README.md: every fenced `bash` / `python` block is either run by the slow test or listed in `SKIP`
with its reason; every script, config, console script and `make` target it names exists; every name its snippets
import is exported by `hf_decision`. The slow test copies the package, `scripts/` and `benchmarks/` into an empty
folder (a fresh clone, with `../shared/data` beside it), runs the README's shell commands in order and then its
Python snippets in one interpreter (later snippets use earlier ones' variables), with `HF_HUB_OFFLINE=1` and only the
stand-ins of `SUBSTITUTIONS` applied, and fails on the first error. `make test-readme` runs both.
"""

from __future__ import annotations

import ast
import configparser
import importlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import hf_decision
from hf_decision.resources import shared_data_dir

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Regular expressions applied, in this order, to every command and snippet before the slow test runs it. The README's
# "Offline" note (under Quickstart) lists the same stand-ins; keep the two in step.
SUBSTITUTIONS: list[tuple[str, str]] = [
    # D4RL Hopper medium from the Hub → the local parquet file of Hopper-v5 medium episodes
    (
        r'"edbeeching/decision_transformer_gym_replay", config="hopper-medium-v2"',
        '"../shared/data/hopper-v5/hopper-medium.parquet"',
    ),
    # the Hub's GPT-2 → the small GPT-2 that the README's pretrain_gpt2 command saves (the shell commands run first)
    (r'from_pretrained_backbone\(\s*"gpt2"', 'from_pretrained_backbone("runs/gpt2-small"'),
    # WikiText-103 from the Hub → the local WikiText-2 raw text (exactly the snippet's "offline:" comment)
    (
        r'lm_dataset="Salesforce/wikitext", lm_dataset_config="wikitext-103-raw-v1"',
        'lm_dataset="../shared/data/wikitext-2-raw", lm_split="validation"',
    ),
    # a push to the Hub → the same agent folder written locally (push_to_hub.py's offline mode)
    (r"--repo_id \S+", "--local_dir runs/agent-folder"),
    # tiny budgets: two optimizer steps for every trainer, in snippets and on the command line
    (r"\bmax_steps=[\d_]+", "max_steps=2"),
    (r"(scripts/train_(?:decision_transformer|dqn|pg)\.py .*)", r"\1 --max_steps 2"),
    # pretraining: two steps and a perplexity over two blocks instead of the whole test file
    (r"(scripts/pretrain_gpt2\.py .*)", r"\1 --max_steps 2 --max_eval_blocks 2"),
    # CartPole dataset family: a shorter SB3 run and smaller datasets (medium-replay is still written)
    (r"--train_steps 10000\b", "--train_steps 2000 --num_steps 1000"),
    # tabular: fewer random steps to fit Q from, and fewer evaluation episodes
    (r"(scripts/train_tabular\.py .*)", r"\1 --num_steps 2000 --eval_episodes 10"),
]

# Commands (matched on the whole command, comments removed, continuation lines joined) and snippets (matched
# anywhere in the block) that the slow test does not run, each with the reason.
SKIP: dict[str, str] = {
    r"^make test$": "runs the whole offline suite, this file included",
    r"^make demo$": "14 minutes of training; tests/commands/test_demo.py runs the same pipeline on a small budget",
    r"results_table\.py --budget cpu --rows .*&$": "trains the cpu-budget table: hours (its --cached_only line runs)",
    r"^for env in HalfCheetah Walker2d; do .*--train_steps 1000000": "two 1M-step PPO runs, about 35 minutes each",
    r"results_table\.py --budget reduced ": "about 3 hours of training on the data the 1M-step collection writes",
    r"benchmarks/lora_memory\.py": "three GPT-2-medium-sized trainings, several minutes each on a CPU",
    r"--stochastic_policy true --output_dir runs/dt-cartpole-v1-stochastic$": "10k steps on a CartPole dataset the "
    "README does not write (tests/commands/test_train_online_decision_transformer.py runs the pipeline small)",
    r"^python scripts/train_online_decision_transformer\.py ": "needs the offline stochastic DT of the command "
    "before it; tests/commands/test_train_online_decision_transformer.py runs the pipeline on a small budget",
    r"benchmarks/online_dt\.py --seeds ": "the Hopper Online DT result: an offline run, online fine-tuning and its "
    "control per seed, 30–40 minutes each (its --cached_only line runs)",
}


@dataclass
class Block:
    language: str
    text: str
    line: int  # of the opening fence, 1-based


@dataclass
class Command:
    text: str
    line: int


def readme_blocks(text: str | None = None) -> list[Block]:
    """The fenced code blocks of the README, in order."""
    blocks, language, start, lines = [], None, 0, []
    for number, line in enumerate((README.read_text() if text is None else text).splitlines(), start=1):
        fence = re.match(r"^```\s*([\w+-]*)\s*$", line)
        if fence and language is None:
            language, start, lines = fence.group(1), number, []
        elif line.strip() == "```" and language is not None:
            blocks.append(Block(language, "\n".join(lines) + "\n", start))
            language = None
        elif language is not None:
            lines.append(line)
    assert language is None, f"README.md: the code block opened at line {start} is never closed"
    return blocks


def shell_commands(block: Block) -> list[Command]:
    """One command per logical line: `\\` continuations joined, `# comments` and extra spaces removed."""
    commands, pending, first = [], "", 0
    for offset, line in enumerate(block.text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", line).rstrip()
        first = first or block.line + offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        command = " ".join((pending + line).split())
        if command:
            commands.append(Command(command, first))
        pending, first = "", 0
    return commands


def bash_commands() -> list[Command]:
    return [c for b in readme_blocks() if b.language in ("bash", "sh", "shell") for c in shell_commands(b)]


def python_blocks() -> list[Block]:
    return [b for b in readme_blocks() if b.language in ("python", "py")]


def skip_reason(text: str) -> str | None:
    return next((reason for pattern, reason in SKIP.items() if re.search(pattern, text, re.DOTALL)), None)


def substitute(text: str) -> str:
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text)
    return text


def console_scripts() -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    entries = parser["options.entry_points"]["console_scripts"]
    return {line.split("=")[0].strip() for line in entries.splitlines() if line.strip()}


def make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def expand_braces(path: str) -> list[str]:
    """`a/{x,y}.yaml` → [`a/x.yaml`, `a/y.yaml`] (the shell's brace expansion, as the README uses it)."""
    parts = re.split(r"\{([^{}]*)\}", path)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(combination) for combination in itertools.product(*choices)]


# ---------------------------------------------------------------------------------------------------------- fast


def test_the_parser_reads_blocks_commands_and_braces():
    text = "x\n```bash\nmake a   # comment\npython s.py --x 1 \\\n    --y 2\n```\n```python\nprint(1)\n```\n"
    blocks = readme_blocks(text)
    assert [(b.language, b.line) for b in blocks] == [("bash", 2), ("python", 7)]
    assert [(c.text, c.line) for c in shell_commands(blocks[0])] == [("make a", 3), ("python s.py --x 1 --y 2", 4)]
    assert expand_braces("c/{a,b}.yaml") == ["c/a.yaml", "c/b.yaml"]
    assert (
        substitute("python scripts/train_dqn.py --config c.yaml")
        == "python scripts/train_dqn.py --config c.yaml --max_steps 2"
    )
    assert skip_reason("make test") and skip_reason("make test-slow") is None


def test_every_shell_command_is_run_or_skipped_with_a_reason():
    commands = bash_commands()
    assert len(commands) >= 10, "the README's commands were not found"
    scripts, targets = console_scripts(), make_targets()
    for command in commands:
        if skip_reason(command.text):
            continue
        words = command.text.split()
        runnable = (
            (words[0] == "python" and len(words) > 1 and (ROOT / words[1]).is_file())
            or words[0] in scripts
            or (words[0] == "make" and len(words) == 2 and words[1] in targets)
        )
        assert runnable, (
            f"README.md line {command.line}: `{command.text}` is neither a script, console script or make target "
            "the slow test can run nor listed in SKIP (tests/test_readme.py) with a reason"
        )


def test_every_python_snippet_parses():
    blocks = python_blocks()
    assert len(blocks) >= 3
    for block in blocks:
        try:
            ast.parse(substitute(block.text))
        except SyntaxError as error:
            pytest.fail(f"README.md python block at line {block.line} (after SUBSTITUTIONS): {error}")


def test_every_skip_and_substitution_still_applies():
    """A rule that matches nothing has gone stale: the README changed under it."""
    texts = [c.text for c in bash_commands()] + [b.text for b in python_blocks()]
    for pattern in SKIP:
        assert any(re.search(pattern, t, re.DOTALL) for t in texts), f"SKIP pattern {pattern!r} matches no block"
    run = [t for t in texts if not skip_reason(t)]
    for pattern, _ in SUBSTITUTIONS:
        assert any(re.search(pattern, t) for t in run), f"SUBSTITUTIONS pattern {pattern!r} matches nothing run"


def test_every_path_the_readme_names_exists():
    text = README.read_text()
    paths = set(re.findall(r"(?<![\w/.])((?:scripts|benchmarks|tests|hf_decision|model_cards)/[\w./{},-]*\w/?)", text))
    assert len(paths) >= 10
    missing = [p for path in sorted(paths) for p in expand_braces(path) if not (ROOT / p).exists()]
    assert missing == [], f"README.md names paths that do not exist: {missing}"


def test_every_console_script_and_make_target_the_readme_names_exists():
    text = README.read_text()
    scripts = console_scripts()
    named = set(re.findall(r"\b(hf-decision-[a-z0-9-]*[a-z0-9])\b", text))
    assert named - scripts == set(), f"README.md names console scripts setup.cfg lacks: {named - scripts}"
    assert scripts - named == set(), f"console scripts the README does not list: {scripts - named}"
    targets = set(re.findall(r"\bmake ([a-z][\w-]*)", text))
    assert targets and targets - make_targets() == set(), f"README.md names missing make targets: {targets}"


def test_every_name_the_readme_imports_is_exported_by_hf_decision():
    imported: dict[str, str] = {}
    for block in python_blocks():
        for node in ast.walk(ast.parse(block.text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "hf_decision":
                imported.update({alias.name: node.module for alias in node.names})
    assert len(imported) >= 5
    for name, module in imported.items():
        assert getattr(importlib.import_module(module), name) is getattr(hf_decision, name), name
        assert name in hf_decision.__all__, f"README imports {name} from {module}: add it to hf_decision.__all__"


def test_every_dotted_hf_decision_name_in_the_readme_resolves():
    for dotted in set(re.findall(r"\bhf_decision(?:\.\w+)+", README.read_text())):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
            try:
                value = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for attribute in parts[cut:]:
            assert hasattr(value, attribute), f"README.md names {dotted}, which does not resolve"
            value = getattr(value, attribute)


def test_the_readme_lists_exactly_the_top_level_names():
    """The README's "Top-level names" paragraph and `hf_decision.__all__` agree, both ways."""
    match = re.search(r"Top-level names(.*?)\n\n", README.read_text(), re.DOTALL)
    assert match, "README.md has no 'Top-level names' paragraph"
    listed = set(re.findall(r"`(\w+)`", match.group(1)))
    assert listed == set(hf_decision.__all__) - {"__version__"}
    for name in hf_decision.__all__:
        assert getattr(hf_decision, name) is not None


def test_every_error_class_of_the_package_is_exported():
    source = "\n".join(p.read_text() for p in (ROOT / "hf_decision").rglob("*.py"))
    errors = set(re.findall(r"^class (\w+Error)\b", source, re.MULTILINE))
    assert {"CheckpointError", "NonFiniteLossError"} <= errors
    assert errors - set(hf_decision.__all__) == set()
    assert all(issubclass(getattr(hf_decision, name), Exception) for name in errors)


def test_import_hf_decision_pulls_in_no_optional_dependency():
    """Plots, SB3, HDF5, Minari and rliable load on first use only. (gymnasium does load: the DT's objectives
    import the data package, which imports collection.)"""
    optional = ["matplotlib", "stable_baselines3", "h5py", "minari", "rliable", "imageio"]
    code = f"import sys, hf_decision; print([m for m in {optional!r} if m in sys.modules])"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh folder laid out like a clone after the README's set-up, with `../shared/data` beside it."""
    shared = shared_data_dir()
    needed = ["hopper-v5/hopper-medium.parquet", "wikitext-2-raw/wiki.valid.raw", "gpt2-tokenizer/vocab.json"]
    if shared is None or not all((shared / p).exists() for p in needed):
        pytest.skip(f"the README's offline data ({', '.join(needed)}) is not in ../shared/data")
    base = tmp_path_factory.mktemp("readme")
    (base / "shared").mkdir()
    (base / "shared" / "data").symlink_to(shared.resolve(), target_is_directory=True)
    folder = base / "clone"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("hf_decision", "scripts", "benchmarks"):
        shutil.copytree(ROOT / name, folder / name, ignore=ignore)
    for name in ("Makefile", "setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, folder / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "PYTEST"))}
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(base / "hf-home"),  # an empty Hub and datasets cache
        HF_DECISION_CACHE=str(base / "hf-decision-cache"),
        PYTHONPATH=str(folder),  # the copied package, not an installed one
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # `python` and the console scripts
        MPLBACKEND="Agg",
    )
    return folder, env


def _run(args: list[str], folder: Path, env: dict, what: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        pytest.fail(f"{what} failed (exit {result.returncode}):\n{output}")
    return time.perf_counter() - start


@pytest.mark.slow
def test_the_readme_runs_offline_in_a_fresh_folder(clone):
    folder, env = clone
    timings = []
    for command in bash_commands():
        if skip_reason(command.text):
            continue
        text = substitute(command.text)
        seconds = _run(["bash", "-euo", "pipefail", "-c", text], folder, env, f"README.md line {command.line}: {text}")
        timings.append((seconds, text))
    snippets = [b for b in python_blocks() if not skip_reason(b.text)]
    program = "".join(f"print('# README.md line {b.line}', flush=True)\n{substitute(b.text)}" for b in snippets)
    (folder / "readme_snippets.py").write_text(program)
    seconds = _run([sys.executable, "readme_snippets.py"], folder, env, "the README's Python snippets")
    timings.append((seconds, f"{len(snippets)} Python snippets"))
    print("\n".join(f"{s:7.1f} s  {t}" for s, t in timings))
    # what the commands and snippets were run for is there
    assert (folder / "runs/gpt2-small/config.json").is_file()
    assert (folder / "data/cartpole/cartpole-medium-replay").is_dir()
    assert (folder / "runs/dt-hopper/eval_results.json").is_file()
    assert (folder / "runs/agent-folder/README.md").is_file()
    assert (folder / "conditioning.png").stat().st_size > 0
