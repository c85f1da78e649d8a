"""accelerate launch predict.py: two CPU processes shard the input and write one
merged, ordered output, identical to a single-process run."""
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def test_two_processes_give_the_single_process_output(smoke_model, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(9):
        (inputs / f"doc{i}.txt").write_text(f"Headline number {i}\nBy Staff\nThe ministry said {i} roads were open. "
                                            f"Critics doubted it.\nShare this article\n")
    single = tmp_path / "single.jsonl"
    proc = subprocess.run([sys.executable, str(ROOT / "predict.py"), str(inputs), "--model", str(smoke_model),
                           "--out", str(single), "--chunk-docs", "2", "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    merged = tmp_path / "merged.jsonl"
    accelerate = shutil.which("accelerate", path=os.path.dirname(sys.executable)) or "accelerate"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # `--cpu` would start a single process; the multi-process launcher (torchrun
    # underneath) also runs on a machine without GPUs, with gloo.
    proc = subprocess.run([accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29541",
                           str(ROOT / "predict.py"), str(inputs), "--model", str(smoke_model), "--out", str(merged),
                           "--chunk-docs", "2", "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 process(es)" in proc.stderr  # really sharded, not two full copies
    assert merged.read_text() == single.read_text()
    assert len(single.read_text().splitlines()) == 9 * 5
    assert not (tmp_path / "merged.jsonl.parts").exists()
