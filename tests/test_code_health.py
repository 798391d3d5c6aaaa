"""The shape of the code: layers point one way, no import circle, short modules and functions, no dead code.

These tests read the source with :mod:`ast`; they run nothing of it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "deblur_core"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# Layers inside deblur_core, lowest first: a module may import its own layer or those below it.
LAYERS = [
    {"settings", "progress", "files", "image", "naming", "__init__"},
    {"io"},
    {"kernels"},
    {"degrade", "metrics"},
    {"classical", "learned"},
    {"restoration"},
    {"training", "video"},
    {"bench", "cli"},
    {"__main__"},
]


def _python_files(*folders: str) -> list[Path]:
    files = []
    for name in folders:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (never run)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    lines.add(inner.lineno)
    return lines


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules that ``path`` imports anywhere (at the top or inside a function)."""
    tree = ast.parse(path.read_text("utf-8"))
    skip = _type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in modules else node.module for n in names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    files = _python_files("deblur_core", "studio", "pages", "app.py")
    modules = {_module_name(p) for p in files} | {"deblur_core", "studio", "pages"}
    return {_module_name(p): _imports(p, modules) - {_module_name(p)} for p in files}


def _layer(module: str) -> int:
    parts = module.split(".")
    part = parts[1] if len(parts) > 1 else "__init__"
    return next(i for i, names in enumerate(LAYERS) if part in names)


def test_layers_point_one_way():
    """pages -> studio (the app's helpers) -> deblur_core, and inside deblur_core from the top down."""
    wrong = []
    for module, imported in _graph().items():
        for other in imported:
            top, other_top = module.split(".")[0], other.split(".")[0]
            if top == "deblur_core" and other_top != "deblur_core":
                wrong.append(f"{module} imports {other}: the library must not know the app")
            elif top == "studio" and other_top in ("pages", "app"):
                wrong.append(f"{module} imports {other}: helpers must not import pages")
            elif top == "pages" and other_top in ("pages", "app"):
                wrong.append(f"{module} imports {other}: a page imports helpers, not other pages")
            elif top == other_top == "deblur_core" and _layer(other) > _layer(module):
                wrong.append(f"{module} imports {other}, a layer above it")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_library_never_imports_streamlit():
    for path in _python_files("deblur_core"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "streamlit" for n in names), f"{path} imports streamlit"


def test_no_import_circle_inside_deblur_core():
    graph = {m: {o for o in deps if o.startswith("deblur_core")} for m, deps in _graph().items()}
    graph = {m: deps for m, deps in graph.items() if m.startswith("deblur_core")}
    circles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph.get(module, ())):
            if state.get(other) == 1:
                circles.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("path", _python_files("deblur_core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_library_module_is_too_long(path):
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by role"


def test_no_function_is_too_long():
    long = []
    for path in _python_files("deblur_core", "studio", "pages", "app.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() has {length} lines")
    assert not long, "\n".join(long)


PROJECT_PACKAGES = ("deblur_core", "studio", "pages")


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _names_used_elsewhere() -> set[str]:
    """Names other modules reach: imported by name (``from m import f``) or as an attribute of an import (``m.f``)."""
    used = set()
    for path in _python_files("deblur_core", "studio", "pages", "app.py", "tests"):
        tree = ast.parse(path.read_text("utf-8"))
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PROJECT_PACKAGES):
                used.update(alias.name for alias in node.names)
                aliases.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                aliases.update(
                    (a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith(PROJECT_PACKAGES)
                )
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _root_name(node.value) in aliases:
                used.add(node.attr)
    return used


def _declared_public(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {elt.value for elt in getattr(node.value, "elts", []) if isinstance(elt, ast.Constant)}
    return set()


def test_no_dead_functions():
    """Every top-level function and class of the library and the app's helpers is used somewhere.

    Used means: called or named in its own module, imported by another, reached as an attribute of
    an import, or declared public in the module's ``__all__`` (the library's API for notebooks, and
    protocols such as every command module's ``add_parser``). A function that only registers itself
    (a decorated builder) counts as used.
    """
    elsewhere = _names_used_elsewhere()
    dead = []
    for path in _python_files("deblur_core", "studio"):
        tree = ast.parse(path.read_text("utf-8"))
        here = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | _declared_public(tree)
        for node in tree.body:
            defined = isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.decorator_list
            if defined and node.name not in here | elsewhere and not node.name.startswith("__"):
                dead.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not dead, "never used:\n" + "\n".join(dead)


def _same(a: list[ast.stmt], b: list[ast.stmt]) -> bool:
    return bool(a) and [ast.dump(s) for s in a] == [ast.dump(s) for s in b]


def test_no_branches_that_do_the_same():
    """An ``if`` whose branches are identical, or two ``if``s in a row that do the same, hide a mistake."""
    found = []
    for path in _python_files("deblur_core", "studio", "pages", "app.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            for body in (getattr(node, "body", None), getattr(node, "orelse", None)):
                if not isinstance(body, list):
                    continue
                for first, second in zip(body, body[1:], strict=False):
                    if isinstance(first, ast.If) and isinstance(second, ast.If) and _same(first.body, second.body):
                        found.append(f"{path.relative_to(ROOT)}:{first.lineno}")
            if isinstance(node, ast.If) and _same(node.body, node.orelse):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "branches doing the same:\n" + "\n".join(found)


def test_the_readme_layout_names_every_module():
    """The README's "Project layout" shows the whole tree: every page, helper and library module, one line each."""
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## Project layout") :]
    block = section[section.index("```") + 3 :]
    block = block[: block.index("```")]
    described = [line.split()[0] for line in block.splitlines() if line.strip()]
    missing = []
    for path in _python_files("deblur_core", "studio", "pages"):
        if path.name == "__init__.py":
            continue
        folder = path.parent.name + "/"
        if path.name not in described or folder not in described:
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, "not in the README's layout: " + ", ".join(missing)
