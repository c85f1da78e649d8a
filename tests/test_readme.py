"""Every command block of the README, run as written (shrunk to the smoke config
where it trains): a command the README shows either runs here and exits 0, or is
listed in NOT_RUN_HERE with the reason (a GPU, a second machine, a Hub account),
so that a new README command cannot go untested by accident."""
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SHARED

pytestmark = pytest.mark.slow

# Commands that cannot run on a CPU-only test machine, each with where it is covered.
NOT_RUN_HERE = {
    "make train": "the real training run (CI runs `make test`; test_training trains the smoke config)",
    "make test": "this test suite itself",
    "--multi_gpu": "needs GPUs (the same launcher runs CPU processes in test_predict_distributed)",
    "--nproc_per_node 4": "needs 4 GPUs",
    "--nnodes 2": "needs two machines",
    "--nproc_per_node 2": "two CPU processes: test_training.test_two_process_data_parallel_training_on_cpu",
    "claimsort hub push": "needs a Hub account and network (test_models covers its refusals)",
    "--ray-address auto": "needs a cluster started with `ray start` (machine-wide daemons that outlive the test; "
                          "the same code runs on a local cluster in test_predict_ray and the README's local "
                          "--engine ray command)",
}


def readme_commands() -> list[str]:
    """The README's bash commands, continuation lines joined, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        block = re.sub(r"\\\n\s*", " ", block)
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def test_every_readme_command_is_run_or_explained():
    commands = readme_commands()
    assert len(commands) >= 10
    for command in commands:
        assert command.split()[0] in (".venv/bin/python", "python", ".venv/bin/claimsort", "claimsort", "make",
                                      "torchrun", "accelerate"), command


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, smoke_model):
    """A user's working folder: the repository's data and configs, a trained model at
    models/default (the smoke model), and the inputs the README's examples name."""
    work = tmp_path_factory.mktemp("readme")
    for name in ("data", "configs"):
        (work / name).symlink_to(ROOT / name)
    shutil.copytree(smoke_model, work / "models/default", ignore=shutil.ignore_patterns("checkpoints"))
    (work / "article.html").write_text("<html><body><h1>Minister denies report</h1><p>The minister said the report "
                                       "was false. Critics disagreed.</p><footer>Share this</footer></body></html>")
    (work / "more").mkdir()
    (work / "more/brief.txt").write_text("Police said the road was clear by noon.\n\nResidents doubted it.\n")
    (work / "news").mkdir()
    (work / "news/update.md").write_text("# Update\n\nThe council announced a new timetable.\n")
    (work / "my_table.jsonl").write_text('{"doc_id": "a", "sent_id": 0, "text": "The ministry said so.", '
                                         '"label": "official_claim"}\n')
    return work


def as_run_here(command: str) -> list[str]:
    """The command as this test runs it: this Python for python / .venv/bin/python,
    the repository's scripts, the smoke config for training, the smoke model's own
    source for a per-source evaluation (the smoke model is trained on the written
    articles only)."""
    args = shlex.split(command)
    if args[0] in (".venv/bin/python", "python"):
        args[0] = sys.executable
    if args[0] in (".venv/bin/claimsort", "claimsort"):  # the console script `pip install` puts beside python
        args[0] = shutil.which("claimsort", path=os.path.dirname(sys.executable)) or "claimsort"
    out = []
    for a in args:
        if a in ("train.py", "predict.py", "evaluate.py"):
            a = str(ROOT / a)
        a = a.replace("configs/default.yaml", "configs/smoke.yaml")
        out.append(a)
    if "--source" in out:
        out[out.index("--source") + 1] = "written"
    if "train.py" in command:
        out += ["training.trainer.max_steps=4", "training.trainer.eval_steps=2"]
    return out


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_works_as_written(command, workdir):
    skip = next((reason for key, reason in NOT_RUN_HERE.items() if key in command), None)
    if skip:
        pytest.skip(skip)
    if "../shared/corpora" in command and not (SHARED / "corpora").is_dir():
        pytest.skip("../shared/corpora is not beside the checkout")
    command = command.replace("../shared/corpora", str(SHARED / "corpora"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMSORT_")}
    proc = subprocess.run(as_run_here(command), cwd=workdir, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{command}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("how", ["console script", "python -m claimsort"])
def test_claimsort_command_lists_its_subcommands_and_runs_one(how):
    script = shutil.which("claimsort", path=os.path.dirname(sys.executable))
    if how == "console script" and script is None:
        pytest.fail("the `claimsort` console script is not installed beside this Python (pip install -e .)")
    base = [script] if how == "console script" else [sys.executable, "-m", "claimsort"]
    proc = subprocess.run(base + ["--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    for command in ("train", "evaluate", "predict", "data", "hub", "page-structure"):
        assert f"  {command} " in proc.stdout
    proc = subprocess.run(base + ["data", "check", str(ROOT / "data/written/articles.jsonl"), "--labelled"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(base + ["nonsense"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "unknown command 'nonsense'" in proc.stderr
