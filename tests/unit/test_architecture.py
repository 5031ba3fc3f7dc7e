"""docs/architecture.md stays in step with the code: its module graph, the import rules, file sizes.

The import graph is computed from the source with `ast` (nothing is imported), including imports
inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
TOPS = ("infra", "components", "provider")
MAX_LINES = 400
# Files allowed over MAX_LINES, each with the reason. Keep it empty where possible.
LINE_ALLOWLIST: dict[str, str] = {}

IO_LIBRARIES = ("subprocess", "socket", "ssl", "http.client", "urllib.request", "shutil", "tempfile",
                "signal", "concurrent.futures", "dns.query", "dns.resolver", "azure", "pulumi.automation")
COMMAND_MODULES_EXTRA: tuple[str, ...] = ()


def _modules() -> dict[str, Path]:
    found = {}
    for top in TOPS:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _raw_imports(name: str, path: Path) -> set[str]:
    """Every dotted name `name` imports (modules and `from x import y` as x.y), absolute."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


RAW = {name: _raw_imports(name, path) for name, path in MODULES.items()}


def _project_imports(name: str) -> set[str]:
    return {n for n in RAW[name] if n in MODULES and n != name}


def _cli_commands() -> set[str]:
    """The modules infra/cli.py loads by name (COMMAND_MODULES), which ast sees only as strings."""
    tree = ast.parse((ROOT / "infra" / "cli.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "COMMAND_MODULES" for t in targets):
                assert node.value is not None, "COMMAND_MODULES is declared without a value"
                return set(ast.literal_eval(node.value))
    raise AssertionError("infra/cli.py has no COMMAND_MODULES tuple")


GRAPH = {name: _project_imports(name) for name in MODULES}
GRAPH["infra.cli"] |= _cli_commands()


def _group(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "infra":
        return parts[0]
    if module == "infra.cli":
        return "infra.cli"
    if len(parts) > 1 and (ROOT / "infra" / parts[1]).is_dir():
        return f"infra.{parts[1]}"
    return "infra"


def _diagram() -> tuple[set[str], set[tuple[str, str]]]:
    text = DOC.read_text()
    block = re.search(r"<!-- module-graph -->\s*```mermaid\n(.*?)```\s*<!-- /module-graph -->", text, re.S)
    assert block, "docs/architecture.md: no mermaid block between the module-graph markers"
    labels = dict(re.findall(r"^\s*(\w+)\[\"([\w.]+)\"\]\s*$", block.group(1), re.M))
    edges = set()
    for a, b in re.findall(r"^\s*(\w+)\s*-->\s*(\w+)\s*$", block.group(1), re.M):
        assert a in labels and b in labels, f"diagram arrow {a} --> {b} uses a node without a label"
        edges.add((labels[a], labels[b]))
    return set(labels.values()), edges


def _pure_modules() -> list[str]:
    block = re.search(r"<!-- pure-modules -->(.*?)<!-- /pure-modules -->", DOC.read_text(), re.S)
    assert block, "docs/architecture.md: no pure-modules list"
    return re.findall(r"^- `([\w.]+)`", block.group(1), re.M)


def test_the_diagram_names_exactly_the_packages_of_the_tree():
    nodes, _ = _diagram()
    real = {_group(m) for m in MODULES}
    assert nodes == real, f"in the diagram only: {sorted(nodes - real)}; in the tree only: {sorted(real - nodes)}"


def test_the_diagram_arrows_are_exactly_the_imports_between_packages():
    _, drawn = _diagram()
    real = {(_group(a), _group(b)) for a, deps in GRAPH.items() for b in deps if _group(a) != _group(b)}
    assert drawn == real, f"drawn but not imported: {sorted(drawn - real)}; imported but not drawn: {sorted(real - drawn)}"


def test_no_import_cycles():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(GRAPH[module]):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_components_never_import_infra_or_the_provider():
    bad = {(m, d) for m, deps in GRAPH.items() if m.startswith("components") for d in deps
           if d.split(".")[0] in ("infra", "provider")}
    assert not bad, f"components importing infra/provider: {sorted(bad)}"


# The program's side: the top-level modules (the program itself) and the libraries it loads its
# config with. The config package also holds `liveness-infra config` (a command module), which is
# the CLI's side.
PROGRAM_PACKAGES = ("infra", "infra.config", "infra.stackfiles")


def test_the_program_side_imports_no_cli_package():
    bad = {(m, d) for m, deps in GRAPH.items() if _group(m) in PROGRAM_PACKAGES and not _is_command(m) for d in deps
           if _group(d) not in (*PROGRAM_PACKAGES, "components")}
    assert not bad, f"program-side modules importing a CLI package: {sorted(bad)}"


def _is_command(module: str) -> bool:
    return module.endswith(".command") or module in COMMAND_MODULES_EXTRA


def test_command_modules_are_imported_only_by_the_cli_and_other_commands():
    commands = {m for m in MODULES if _is_command(m)}
    assert commands >= _cli_commands(), "every module in COMMAND_MODULES is a command module"
    bad = {(m, d) for m, deps in GRAPH.items() for d in deps
           if d in commands and m != "infra.cli" and not _is_command(m)}
    assert not bad, f"libraries importing a command module: {sorted(bad)}"


def _io_modules() -> set[str]:
    io = {m for m in MODULES if _is_command(m)
          or any(n == lib or n.startswith(lib + ".") for n in RAW[m] for lib in IO_LIBRARIES)}
    changed = True
    while changed:  # importing an I/O module makes a module I/O too
        grown = {m for m, deps in GRAPH.items() if deps & io} - io
        io |= grown
        changed = bool(grown)
    return io


def test_pure_modules_import_no_io():
    pure = _pure_modules()
    assert len(pure) >= 10
    missing = [m for m in pure if m not in MODULES]
    assert not missing, f"docs/architecture.md lists modules that do not exist: {missing}"
    io = _io_modules()
    assert "infra.dns.probe" in io and "infra.proxy.runner" in io  # the rule can see I/O
    impure = {m: sorted(GRAPH[m] & io) or "imports an I/O library" for m in pure if m in io}
    assert not impure, f"pure modules that reach I/O: {impure}"


@pytest.mark.parametrize("top", ["infra", "components"])
def test_no_python_file_over_the_line_limit(top):
    too_long = {}
    for path in sorted((ROOT / top).rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES and rel not in LINE_ALLOWLIST:
            too_long[rel] = lines
    assert not too_long, f"over {MAX_LINES} lines (split by idea, or allowlist with a reason): {too_long}"


def test_the_line_allowlist_holds_only_files_that_still_need_it():
    stale = [rel for rel in LINE_ALLOWLIST if not (ROOT / rel).is_file()
             or len((ROOT / rel).read_text().splitlines()) <= MAX_LINES]
    assert not stale, f"allowlisted but no longer over {MAX_LINES} lines: {stale}"


def test_the_readme_links_the_architecture():
    assert "docs/architecture.md" in (ROOT / "README.md").read_text()


def test_reading_a_stack_file_does_not_import_the_provider_sdk():
    """`config check` and the schema read only pure modules: importing the provider's SDK would
    multiply the time of every config check (0.2 s → 1.3 s measured), so components keep the values
    config needs in components/arg_choices.py."""
    import subprocess
    import sys

    probe = ("import sys, infra.config.loader, infra.config.command; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_azure_native')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout
