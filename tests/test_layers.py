"""The layers of docs/architecture.md hold in the code: every import in src/genlab, at module level
or inside a function, goes to its own layer or below; no two packages import each other; and an
import inside a function is for an optional dependency only, with a comment saying why."""

from __future__ import annotations

import ast
import functools
import gc
import re
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
ROW = re.compile(r"^\|\s*(\d+)\s*\|([^|]*)\|")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported genlab module (or package), dotted
    where: str  # "path:line"
    in_function: bool


def layer_table(text: str) -> dict[str, int]:
    """{"genlab.data": 2, "genlab.io": 1, "genlab": 6, ...} from the table's layer and package
    columns: `genlab/x/` is a package, `genlab/x.py` a module, `genlab/__init__.py` the root."""
    table = {}
    for line in text.splitlines():
        row = ROW.match(line)
        if not row:
            continue
        for path in re.findall(r"`(genlab/[^`]*)`", row.group(2)):
            name = path.removesuffix("/").removesuffix(".py").removesuffix("/__init__")
            table[name.replace("/", ".")] = int(row.group(1))
    return table


def unit_of(module: str, table: dict[str, int]) -> str | None:
    """The table entry a dotted module belongs to: the longest entry that is it or holds it."""
    best = None
    for unit in table:
        if (module == unit or module.startswith(unit + ".")) and len(unit) > len(best or ""):
            best = unit
    return best


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_statements(body: list[ast.stmt], nested: bool = False):
    """(import statement, inside a function?) for every import in `body`, at any depth. Imports
    are statements, so only statement lists are walked (a full ast.walk is ten times slower)."""
    for stmt in body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            yield stmt, nested
            continue
        inner = nested or isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
        blocks = [getattr(stmt, f, []) for f in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(stmt, "handlers", [])]
        blocks += [c.body for c in getattr(stmt, "cases", [])]
        for block in blocks:
            yield from import_statements(block, inner)


def imported_modules(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> list[str]:
    """Dotted modules an import statement imports: `from genlab.world import render` imports
    genlab.world.render where that is a module, else the name render of genlab.world."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        here = here[: len(here) - (node.level - 1)]
        base = ".".join(here + ([node.module] if node.module else []))
    full = [f"{base}.{alias.name}" for alias in node.names]
    return list(dict.fromkeys(name if name in modules else base for name in full))


def collect(files: list[Path], src: Path = SRC) -> tuple[list[Import], list[tuple[str, str]]]:
    """Every genlab import of `files` (under `src`), and every import inside a function as
    (where, statement)."""
    modules = {module_name(p, src) for p in src.joinpath("genlab").rglob("*.py")}
    imports, function_level = [], []
    for path in files:
        source = path.read_text()
        lines = source.splitlines()
        gc.disable()  # parsing makes a million small objects: the collector would double its time
        try:
            tree = ast.parse(source)
        finally:
            gc.enable()
        module, is_package = module_name(path, src), path.name == "__init__.py"
        for node, nested in import_statements(tree.body):
            where = f"{path.relative_to(src).as_posix()}:{node.lineno}"
            if nested:  # with the line above when it is a comment (the reason may stand there)
                above = lines[node.lineno - 2].strip().startswith("#")
                text = "\n".join(lines[node.lineno - 1 - above : node.end_lineno])
                function_level.append((where, text))
            for target in imported_modules(node, module, is_package, modules):
                if target.split(".")[0] == "genlab":
                    imports.append(Import(module, target, where, nested))
    return imports, function_level


def check(imports: list[Import], table: dict[str, int]) -> tuple[list[str], list[str]]:
    """(upward imports, two-way package pairs), each as a readable line."""
    upward, edges = [], {}
    for imp in imports:
        src, dst = unit_of(imp.source, table), unit_of(imp.target, table)
        if src is None or dst is None or src == dst:
            continue
        edges.setdefault((src, dst), []).append(imp.where)
        if table[dst] > table[src]:
            upward.append(
                f"{imp.where}: {imp.source} (layer {table[src]}) imports {imp.target} "
                f"(layer {table[dst]})"
            )
    two_way = [
        f"{a} <-> {b}: {edges[a, b][0]} and {edges[b, a][0]}"
        for (a, b) in sorted(edges)
        if a < b and (b, a) in edges
    ]
    return upward, two_way


def core_modules() -> set[str]:
    """Top-level module names of the core dependencies (pyproject.toml's `dependencies`)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}
    return {{"pillow": "PIL"}.get(n, n) for n in names}  # the import names: torch, numpy, PIL


TABLE = layer_table(ARCHITECTURE.read_text())
FILES = sorted(SRC.joinpath("genlab").rglob("*.py"))


@functools.cache
def src_imports() -> tuple[list[Import], list[tuple[str, str]]]:
    return collect(FILES)


def test_the_layer_table_names_every_module_of_src():
    unplaced = [module_name(p) for p in FILES if unit_of(module_name(p), TABLE) is None]
    assert TABLE and not unplaced, f"modules with no row in docs/architecture.md: {unplaced}"


def test_no_import_goes_up_a_layer_and_no_two_packages_import_each_other():
    upward, two_way = check(src_imports()[0], TABLE)
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)
    assert not two_way, "packages that import each other:\n" + "\n".join(two_way)


def test_imports_inside_functions_are_for_optional_dependencies_and_say_why():
    """The standard library and the core dependencies are imported at module level; anything
    else imported inside a function (an extra, a version-dependent part of torch, a genlab
    module that needs an extra) says why in a comment on its line or the line above."""
    core = core_modules()
    wrong = []
    for where, statement in src_imports()[1]:
        code = [line for line in statement.splitlines() if not line.strip().startswith("#")]
        node = ast.parse(textwrap.dedent("\n".join(code))).body[0]
        names = imported_modules(node, "", False, set())
        if {n.split(".")[0] for n in names} & set(sys.stdlib_module_names) or set(names) & core:
            wrong.append(f"{where}: the standard library or a core dependency: {statement}")
        elif "#" not in statement:
            wrong.append(f"{where}: no comment saying why it is not at module level: {statement}")
    assert not wrong, "imports inside functions:\n" + "\n".join(wrong)


def test_the_checker_finds_an_upward_import_and_a_two_way_pair(tmp_path):
    table = layer_table("| 1 | `genlab/low/` | x |\n| 2 | `genlab/high/`, `genlab/side/` | y |\n")
    for name, body in {
        "low/__init__.py": "",
        "low/a.py": "def f():\n    from genlab.high import b  # hidden in a function\n",
        "high/__init__.py": "",
        "high/b.py": "from genlab.low import a\nfrom genlab.side import c\n",
        "side/__init__.py": "",
        "side/c.py": "import genlab.high.b\n",
    }.items():
        path = tmp_path / "genlab" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    imports, function_level = collect(sorted(tmp_path.rglob("*.py")), tmp_path)
    upward, two_way = check(imports, table)
    assert upward == ["genlab/low/a.py:2: genlab.low.a (layer 1) imports genlab.high.b (layer 2)"]
    assert two_way == [  # the import hidden in a function makes a pair too
        "genlab.high <-> genlab.low: genlab/high/b.py:1 and genlab/low/a.py:2",
        "genlab.high <-> genlab.side: genlab/high/b.py:2 and genlab/side/c.py:1",
    ]
    assert function_level == [
        ("genlab/low/a.py:2", "    from genlab.high import b  # hidden in a function")
    ]
