"""No import cycle between the project's modules, lazy imports (inside functions) included: a
lower module reaches a higher one by a name or a registration instead (apps.core.queue,
apps.core.metrics). The layers themselves are import-linter contracts ([tool.importlinter] in
pyproject.toml), checked by `lint-imports` in `make lint` (.ci/run); the last test here keeps
every app inside them."""

import tomllib
from pathlib import Path

import grimp

import apps

ROOT = Path(__file__).resolve().parents[2]


def import_cycles(graph) -> list[list[str]]:
    """One cycle per group of modules that import each other (a strongly connected component of
    the import graph), as a list of modules whose last imports the first; sorted."""
    modules = sorted(graph.modules)
    imports = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        # Tarjan's algorithm, iterative: (module, position in its imports).
        work = [(root, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = low[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            if position < len(imports[module]):
                work.append((module, position + 1))
                imported = imports[module][position]
                if imported not in index:
                    work.append((imported, 0))
                elif imported in on_stack:
                    low[module] = min(low[module], index[imported])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1 or module in imports[module]:
                    groups.append(sorted(group))
    cycles = []
    for group in groups:
        first = group[0]
        following = next(m for m in imports[first] if m in group)
        if following == first:
            cycles.append([first])
        else:  # following, ..., first
            cycles.append([first, *graph.find_shortest_chain(importer=following, imported=first)[:-1]])
    return sorted(cycles)


def describe(graph, cycle: list[str]) -> str:
    steps = []
    for importer, imported in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
        lines = sorted(
            detail["line_number"] for detail in graph.get_import_details(importer=importer, imported=imported)
        )
        steps.append(f"{importer} -> {imported} (line {', '.join(map(str, lines))})")
    return "\n  ".join(steps)


def test_no_module_of_the_project_is_in_an_import_cycle():
    graph = grimp.build_graph("apps", "ems", cache_dir=None)
    assert Path(apps.__file__).parent == ROOT / "apps"  # this checkout's modules, not an installed copy
    cycles = import_cycles(graph)
    assert not cycles, "Import cycles:\n" + "\n".join(f"- {describe(graph, cycle)}" for cycle in cycles)


def test_import_cycles_finds_each_cycle():
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.c"),
        ("pkg.c", "pkg.a"),  # a -> b -> c -> a
        ("pkg.c", "pkg.d"),
        ("pkg.d", "pkg.e"),  # no cycle through d, e
        ("pkg.f", "pkg.g"),
        ("pkg.g", "pkg.f"),  # f <-> g
        ("pkg.h", "pkg.h"),
    ]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="import")
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.f", "pkg.g"], ["pkg.h"]]
    assert describe(graph, ["pkg.f", "pkg.g"]) == "pkg.f -> pkg.g (line 1)\n  pkg.g -> pkg.f (line 1)"


def test_every_app_is_in_the_layers_contract():
    """A new app (or dialect) outside the contracts would be checked by none of them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {contract["id"]: contract for contract in config["contracts"]}

    def named(layers):
        return {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}

    apps = {f"apps.{path.parent.name}" for path in (ROOT / "apps").glob("*/__init__.py")}
    dialects = {path.parent.name for path in (ROOT / "apps" / "api").glob("*/__init__.py")}
    assert apps <= named(contracts["layers"]["layers"])
    assert dialects == named(contracts["api-layers"]["layers"])
    assert {f"apps.api.{name}" for name in dialects - {"common"}} == set(contracts["dialects"]["modules"])
