"""The house rules that a reader relies on: no import circles inside the package, no oversized source file, the
lint rules of pyproject.toml."""
import importlib.util
import os
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "fastnet"
ROOT = PACKAGE.parent
MAX_LINES = 600


def _import_graph_script():
    """scripts/import_graph.py, the one reader of the package's imports (the tests and the measurement share it)."""
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_circles():
    script = _import_graph_script()
    graph = script.module_graph()
    assert "fastnet.mlp.network" in graph and "fastnet.gpt.model" in graph["fastnet.loading"]
    arrows = {(module, target) for module, targets in graph.items() for target in targets}
    assert script.circles(graph, arrows) == []


def test_no_source_file_is_oversized():
    sources = list(PACKAGE.rglob("*.py")) + list(PACKAGE.rglob("*.pyx")) + list(PACKAGE.rglob("*.pxi"))
    long = {str(path.relative_to(PACKAGE)): n for path in sources
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_code_passes_ruff():
    """The rule set in pyproject.toml ([tool.ruff]) holds for the whole tree: ruff is in the test extra."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", ROOT], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_documentation_builds_without_a_warning(tmp_path):
    """Issue 28: the docs (README as home page, docs/, BENCHMARKS.md and the API from the docstrings) build with
    MkDocs in strict mode, so a broken link or a docstring reference that does not resolve fails CI."""
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert "fastnet.Network" in api and "fastnet.GPT" in api and "check_drivers" in api
