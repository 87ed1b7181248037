"""The house rules that a reader relies on: no import circles inside the package, no oversized source file, the
lint rules of pyproject.toml."""
import ast
import os
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "fastnet"
ROOT = PACKAGE.parent
MAX_LINES = 600


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph():
    """{module: set of fastnet modules it imports}, every import statement counted (function-level ones too)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
            else:
                continue
            for candidate in candidates:
                while candidate and candidate not in modules:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name and candidate.startswith("fastnet"):
                    targets.add(candidate)
        graph[name] = targets
    return graph


def _cycles(graph):
    """Every import circle, as a list of modules (depth-first search)."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            # a package's __init__ importing its own submodules is how packages work, not a circle
            if target.startswith(node + "."):
                continue
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_no_import_circles():
    graph = import_graph()
    assert "fastnet.mlp.network" in graph and "fastnet.gpt.model" in graph["fastnet.loading"]
    assert _cycles(graph) == []


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
