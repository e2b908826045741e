"""The structure, drawn from the imports (STYLE.md, "The shape"): dependencies run one way.

Every module of the project is parsed (no import is executed): `import` and `from ... import` statements
anywhere in the file (function-local ones included), relative imports resolved, and the app named in
`apps.get_model("app", ...)` / `apps.get_model("app.Model")` strings. Migrations are left out (a migration
depends on the migrations of the models it points at), and so are tests and benchmarks.

Run alone: `python -m pytest tests/test_architecture.py -q` (no database), or `python tests/test_architecture.py`
to print the graph."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = "kameng_api.core"
APPS = (CORE, "cases", "evidence", "escalation", "notifications", "stats", "demo")

# What each app may import. Downwards only: core <- cases <- evidence <- escalation (the letter reads the
# evidence through an evidence selector) <- notifications, stats (which report on what is below them).
# `demo` (manage.py load_demo) drives every app's services and nothing imports it.
MAY_IMPORT = {
    CORE: set(),
    "cases": {CORE},
    "evidence": {CORE, "cases"},
    "escalation": {CORE, "cases", "evidence"},
    "notifications": {CORE, "cases", "evidence", "escalation"},
    "stats": {CORE, "cases", "evidence", "escalation", "notifications"},
    "demo": set(APPS) - {"demo"},
}

# Modules of one app that must not import each other (a cycle once removed, kept removed).
NO_MUTUAL_IMPORT = [("stats.spikes", "stats.tasks")]


def app_of(module: str) -> str | None:
    for app in APPS:
        if module == app or module.startswith(app + "."):
            return app
    return None


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0].startswith(".") or rel.parts[0] in ("tests", "bench") or "migrations" in rel.parts:
            continue
        module = ".".join(rel.with_suffix("").parts)
        if module.endswith(".__init__"):
            module = module.removesuffix(".__init__")
        if app_of(module):
            yield module, path


def imports_of(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module or app, line) for every import in the file, at any depth."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.append((base, node.lineno))
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "get_model" and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                found.append((node.args[0].value.split(".")[0], node.lineno))
    return found


def module_graph() -> dict[str, dict[str, list[int]]]:
    graph: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for module, path in _modules():
        for target, line in imports_of(module, path):
            if app_of(target) and target != module:
                graph[module][target].append(line)
    return graph


def app_graph() -> dict[tuple[str, str], list[str]]:
    """(importing app, imported app) -> where ("path:line")."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, targets in module_graph().items():
        for target, lines in targets.items():
            source, dest = app_of(module), app_of(target)
            if source != dest:
                edges[(source, dest)] += [f"{module}:{line}" for line in lines]
    return edges


def cycles(edges) -> list[list[str]]:
    """Every elementary cycle's nodes, found by a depth-first search from each node."""
    succ = defaultdict(set)
    for a, b in edges:
        succ[a].add(b)
    found = []

    def walk(start, node, path):
        for nxt in sorted(succ[node]):
            if nxt == start:
                found.append([*path, start])
            elif nxt not in path and nxt > start:
                walk(start, nxt, [*path, nxt])

    for start in sorted(succ):
        walk(start, start, [start])
    return found


def test_the_graph_sees_local_imports_and_model_strings(tmp_path):
    """The parser is not blind to the ways a dependency hides (so the tests below can fail)."""
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from escalation.services import x\n"
                      "    return apps.get_model('notifications', 'Alert'), apps.get_model('stats.Model')\n"
                      "from .codes import Role\n")
    found = {name for name, _line in imports_of("cases.sub.probe", source)}
    assert {"escalation.services", "notifications", "stats", "cases.sub.codes"} <= found
    assert cycles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == [["a", "b", "c", "a"]]


def test_no_cycle_between_apps():
    assert cycles(app_graph()) == []


def test_core_imports_no_app():
    assert {dest: where for (source, dest), where in app_graph().items() if source == CORE} == {}


def test_apps_import_only_downwards():
    wrong = {f"{source} -> {dest}": sorted(where)[:5] for (source, dest), where in app_graph().items()
             if dest not in MAY_IMPORT[source]}
    assert wrong == {}


def test_no_app_imports_demo():
    assert [key for key in app_graph() if key[1] == "demo"] == []


def test_modules_once_in_a_cycle_do_not_import_each_other():
    graph = module_graph()
    both = [(a, b) for a, b in NO_MUTUAL_IMPORT
            if any(t == b or t.startswith(b + ".") for t in graph.get(a, {}))
            and any(t == a or t.startswith(a + ".") for t in graph.get(b, {}))]
    assert both == []


if __name__ == "__main__":
    for (source, dest), where in sorted(app_graph().items()):
        print(f"{source} -> {dest}  ({len(where)} imports)")
    sys.exit(0)
