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
import os
import sys

PACKAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fastnet")

# Lowest first. A room not listed is reported, so that the table stays complete.
LAYERS = [
    ("vocabulary and shared pieces", {"_version", "core", "_numerics", "_io", "_progress", "_checks", "mlp.layout",
                                      "gpt.layout"}),
    ("the backends' kernels", {"backends", "backends.numpy", "backends.numba", "backends.cython"}),
    ("data", {"datasets", "text"}),
    ("the two wings", {"mlp", "gpt", "network", "training", "persistence", "_layout", "_init", "_book", "export",
                       "pictures"}),
    ("what uses the wings", {"lessons", "loading", "sklearn", "dask", "book", "sweeps", "serve", "bench", "cli",
                             "mlp.cli", "gpt.cli", "__init__"}),
]
SPLIT_ROOMS = ("backends.numpy", "backends.numba", "backends.cython", "mlp.layout", "gpt.layout", "mlp.cli",
               "gpt.cli")


def module_name(path):
    relative = os.path.relpath(path, os.path.dirname(PACKAGE))[:-len(".py")].split(os.sep)
    return ".".join(relative[:-1] if relative[-1] == "__init__" else relative)


def room(module):
    """The room of a dotted module name inside fastnet."""
    parts = module.split(".")[1:]
    if not parts:
        return "__init__"
    dotted = ".".join(parts[:2])
    return dotted if dotted in SPLIT_ROOMS else parts[0]


def imports(path, modules):
    """Every fastnet module ``path`` imports from (relative imports resolved; `from pkg import sub` is sub)."""
    name = module_name(path)
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "fastnet")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "fastnet":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield submodule if submodule in modules else target


def graph():
    modules = {}
    for directory, _, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(directory, file)
                modules[module_name(path)] = path
    arrows = set()
    for name, path in modules.items():
        for target in imports(path, modules):
            while target not in modules and "." in target:  # `from pkg import function`: the module is pkg
                target = target.rsplit(".", 1)[0]
            if target in modules and room(target) != room(name):
                arrows.add((room(name), room(target)))
    return {room(name) for name in modules}, arrows


def circles(rooms, arrows):
    """Strongly connected sets of more than one room (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    successors = {r: [b for a, b in arrows if a == r] for r in rooms}

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

    for r in sorted(rooms):
        if r not in index:
            visit(r)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrows", action="store_true", help="list every arrow")
    args = parser.parse_args()
    rooms, arrows = graph()
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
