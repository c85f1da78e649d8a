"""The notebooks run top to bottom (a cell error fails the test), and are
committed without outputs."""
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
CORPUS_NOTEBOOK = NOTEBOOKS / "01_corpus_exploration.ipynb"
ERRORS_NOTEBOOK = NOTEBOOKS / "02_error_analysis.ipynb"
ALL_NOTEBOOKS = (CORPUS_NOTEBOOK, ERRORS_NOTEBOOK)
CELL_TIMEOUT = 300


def _ensure_kernelspec() -> None:
    """The 'python3' kernel must exist for this interpreter; install it into the
    venv (sys.prefix) when missing. jupyter_client runs a spec whose argv[0] is
    'python' with sys.executable."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix"], check=True,
                       capture_output=True)


def execute(path: Path) -> nbformat.NotebookNode:
    """Run every cell of the notebook in a fresh kernel started from the notebook's folder."""
    from nbclient import NotebookClient

    _ensure_kernelspec()
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    return nb


@pytest.fixture
def clean_env(monkeypatch):
    """The kernel inherits os.environ: written corpus only, headless plotting."""
    monkeypatch.delenv("CLAIMSORT_PTC_DIR", raising=False)
    monkeypatch.delenv("CLAIMSORT_WEB_PAGES_DIR", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return monkeypatch


def _outputs(nb) -> str:
    return "\n".join(
        out.get("text", "") or str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells, f"{path.name} has no code cells"
    for i, cell in enumerate(code_cells):
        assert cell.outputs == [], f"{path.name}: code cell {i} has stored outputs"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has an execution count"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_absolute_paths(path):
    text = path.read_text(encoding="utf-8")
    for fragment in (str(ROOT), "/work/", "/home/", "/tmp/"):
        assert fragment not in text, f"{path.name} hard-codes {fragment!r}"


@pytest.mark.slow
def test_corpus_exploration_notebook_runs(clean_env):
    nb = execute(CORPUS_NOTEBOOK)
    text = _outputs(nb)
    assert re.search(r"\d+ segments in \d+ documents from sources: written$", text, re.M), text[:2000]
    assert any(out.get("output_type") == "display_data" and "image/png" in out.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs), "no figure drawn"


@pytest.mark.slow
def test_error_analysis_notebook_runs(clean_env, smoke_model):
    clean_env.setenv("CLAIMSORT_MODEL", str(smoke_model))
    nb = execute(ERRORS_NOTEBOOK)
    text = _outputs(nb)
    assert str(smoke_model) in text
    assert "ECE" in text
