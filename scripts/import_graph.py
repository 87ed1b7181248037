"""The package's import graph between its rooms, and the arrows that run against its layers.

    python scripts/import_graph.py [--arrows]

A room is a top-level module or subpackage of ``fastnet`` (``fastnet.gpt``,
``fastnet.cli``...), and ``fastnet.backends``' three implementations count as
rooms of their own (``backends.numpy``...), as do the two wings' parameter
layouts (``mlp.layout``, ``gpt.layout``: the vocabulary a wing and its kernels
share, importing nothing of the wing) and their command lines (``mlp.cli``,
``gpt.cli``: programs over the wings). An arrow is "room A imports from
room B" (any import statement, also inside functions). The layers below say
which way arrows should run: from a layer to the same or a lower one. An arrow
to a higher layer runs back up; a circle is a set of rooms that import each
other round.
"""
import argparse
import ast
import pathlib
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "fastnet"

# Lowest first. A room not listed is reported, so that the table stays complete.
LAYERS = [
    ("vocabulary and shared pieces", {"_version", "core", "_numerics", "_io", "_progress", "_checks", "mlp.layout",
                                      "gpt.layout"}),
    ("the backends' kernels", {"backends", "backends.numpy", "backends.numba", "backends.cython"}),
    ("data", {"datasets", "text", "byte_level"}),
    ("the two wings", {"mlp", "gpt", "network", "training", "persistence", "_layout", "_init", "_book", "export",
                       "pictures"}),
    ("what uses the wings", {"lessons", "loading", "sklearn", "dask", "book", "sweeps", "serve", "bench", "cli",
                             "mlp.cli", "gpt.cli", "__init__"}),
]
SPLIT_ROOMS = ("backends.numpy", "backends.numba", "backends.cython", "mlp.layout", "gpt.layout", "mlp.cli",
               "gpt.cli")


def module_graph(package=PACKAGE):
    """{module: set of fastnet modules it imports}, every import statement counted (function-level ones too).

    ``from pkg import name`` counts pkg (its __init__ runs) and pkg.name when that is a module.
    """
    package = pathlib.Path(package)
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        anchor = (name if path.name == "__init__.py" else name.rpartition(".")[0]).split(".")
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(anchor[:len(anchor) - node.level + 1] + ([base] if base else []))
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


def room(module):
    """The room of a dotted module name inside fastnet."""
    parts = module.split(".")[1:]
    if not parts:
        return "__init__"
    dotted = ".".join(parts[:2])
    return dotted if dotted in SPLIT_ROOMS else parts[0]


def rooms_and_arrows(graph):
    """(rooms, arrows) of a module graph. The root package is no room's dependency: every import of a fastnet
    module runs fastnet/__init__.py first, so an arrow into it says nothing of the layers."""
    arrows = {(room(a), room(b)) for a, targets in graph.items() for b in targets
              if room(a) != room(b) and b != "fastnet"}
    return {room(name) for name in graph}, arrows


def circles(nodes, arrows):
    """Every set of more than one node that import each other round (strongly connected, Tarjan). A package
    importing its own submodules is how packages work, not a circle: those arrows are left out."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    successors = {r: [b for a, b in arrows if a == r and not b.startswith(r + ".")] for r in nodes}

    def visit(r):
        index[r] = low[r] = counter[0]
        counter[0] += 1
        stack.append(r)
        on_stack.add(r)
        for s in successors[r]:
            if s not in index:
                visit(s)
                low[r] = min(low[r], low[s])
            elif s in on_stack:
                low[r] = min(low[r], index[s])
        if low[r] == index[r]:
            component = []
            while True:
                s = stack.pop()
                on_stack.discard(s)
                component.append(s)
                if s == r:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for r in sorted(nodes):
        if r not in index:
            visit(r)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrows", action="store_true", help="list every arrow")
    args = parser.parse_args()
    rooms, arrows = rooms_and_arrows(module_graph())
    layer_of = {r: i for i, (_, members) in enumerate(LAYERS) for r in members}
    unlisted = sorted(rooms - set(layer_of))
    if unlisted:
        sys.exit(f"rooms in no layer (add them to LAYERS): {unlisted}")
    upward = sorted((a, b) for a, b in arrows if layer_of[b] > layer_of[a])
    print(f"{len(rooms)} rooms, {len(arrows)} arrows, {len(circles(rooms, arrows))} circles, "
          f"{len(upward)} arrows that run back up")
    for a, b in upward:
        print(f"  up: {a} ({LAYERS[layer_of[a]][0]}) -> {b} ({LAYERS[layer_of[b]][0]})")
    for circle in circles(rooms, arrows):
        print(f"  circle: {' <-> '.join(circle)}")
    if args.arrows:
        for a, b in sorted(arrows):
            print(f"  {a} -> {b}")


if __name__ == "__main__":
    main()
