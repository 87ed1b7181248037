"""The house rules that a reader relies on: no import circles inside the package, no oversized source file, the
lint rules of pyproject.toml."""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

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


def _block_calls(source, function):
    """The op kinds ``function`` calls inside its loop over the layers, in order: each call ``<kind>_forward(`` or
    ``<kind>_backward(`` (``cached_attention(`` is decoding's attention)."""
    lines = source[re.search(rf"^(cdef \w+ |def ){function}\(", source, re.M).start():].splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\s*for layer in range\(", line))
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    calls = re.findall(r"\b(?:(layernorm|linear|attention|gelu)_(?:forward|backward)|(cached_attention))\(",
                       "\n".join(body))
    return [kind or "attention" for kind, cached in calls]


@pytest.mark.parametrize("path, functions", [
    ("backends/numba/gpt_kernels.py", {"forward": 1, "loss_and_gradient": -1, "decode_from": 1}),
    ("backends/cython/_gpt_kernels.pyx", {"forward_pass": 1, "backward_pass": -1, "decode_into": 1}),
])
def test_the_compiled_blocks_follow_the_table_of_ops(path, functions):
    """gpt/layout.py's BLOCK_OPS is the block's wiring: the NumPy reference walks it; each compiled forward and
    decoding pass calls its ops in the table's order, and each backward pass in the reverse order."""
    from fastnet.gpt.layout import BLOCK_OPS
    kinds = [op.kind for op in BLOCK_OPS]
    source = (PACKAGE / path).read_text(encoding="utf-8")
    for function, direction in functions.items():
        assert _block_calls(source, function) == kinds[::direction], function


CITED_FILE = re.compile(r"\b((?:scripts|benches|tests|docs)/[\w./-]+\.(?:py|c|sh|md|png))\b")


def test_every_file_the_documents_cite_is_in_the_repository():
    """A command in README, BENCHMARKS or docs/ names a script (``python scripts/ab_epoch.py``, ``gcc ...
    scripts/first_layer_floor.c``): each such file must be in the repository, so that a clean clone can run it
    (first_layer_floor.c was cited but kept out by .gitignore's ``*.c``)."""
    documents = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
    cited = {match for document in documents for match in CITED_FILE.findall(document.read_text(encoding="utf-8"))}
    assert "scripts/first_layer_floor.c" in cited
    assert sorted(path for path in cited if not (ROOT / path).is_file()) == []


def test_the_shell_scripts_remove_their_temporary_directories():
    """Each ``mktemp -d`` of .ci/run and scripts/*.sh is a variable that an EXIT trap removes: a run of .ci/run
    made a 2 GB virtual environment and left it behind, until the disk was full."""
    for script in [ROOT / ".ci" / "run", *sorted((ROOT / "scripts").glob("*.sh"))]:
        text = script.read_text(encoding="utf-8")
        made = re.findall(r'^\s*(\w+)="\$\(mktemp -d\)"(?:\s+#.*)?$', text, re.MULTILINE)
        assert text.count("mktemp") == len(made), f"{script.name}: a mktemp not assigned to its own variable"
        removed = set(re.findall(r"""^trap 'rm -rf (.*)' EXIT$""", text, re.MULTILINE))
        for name in made:
            assert any(f'"${name}"' in paths.split() for paths in removed), f"{script.name}: {name} is never removed"
