"""The house's import graph: every room imports downwards, none imports back up into itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, known: set[str]) -> set[str]:
    """Every bot module `path` imports, at load time or inside a function (both run), but not
    under `if TYPE_CHECKING:`, which never runs."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and "TYPE_CHECKING" in ast.unparse(block.test)
               for node in ast.walk(block)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {name for name in (node.module, *(f"{node.module}.{a.name}"
                                                       for a in node.names)) if name in known}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
    return found


def graph() -> dict[str, set[str]]:
    paths = list((ROOT / "bot").rglob("*.py"))
    known = {module_name(path) for path in paths}
    edges = {module_name(path): imports(path, known) for path in paths}
    # A package importing its own submodules (its __init__ re-exporting them) is not a circle.
    return {module: {d for d in deps if not d.startswith(module + ".") and d != module}
            for module, deps in edges.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(edges.get(module, ())):
            if state.get(dep) == 1:
                found.append([*stack[stack.index(dep):], dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(graph()) == []


def test_the_telegram_rooms_never_import_their_own_package() -> None:
    """`bot.telegram` (its __init__) is for the CLI and the tests; a room importing it would run
    back up through every other room."""
    edges = graph()
    upward = sorted(m for m, deps in edges.items()
                    if m.startswith("bot.telegram.") and "bot.telegram" in deps)
    assert upward == []
