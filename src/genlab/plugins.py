"""Registration by import: the architectures (genlab.models), pipeline kinds (genlab.pipelines) and
training recipes (genlab.train) register themselves with a decorator when their module is
imported; `import_all` imports every module of such a package, once.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

_DONE: set[str] = set()


def import_all(package: str, *, tolerant: bool = False) -> None:
    """Import every module of `package` (dotted name) the first time it is asked. With
    `tolerant`, a module that fails to import is a warning, so one broken module does not hide
    what the others register."""
    if package in _DONE:
        return
    _DONE.add(package)
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        try:
            importlib.import_module(f"{package}.{info.name}")
        except Exception as e:
            if not tolerant:
                _DONE.discard(package)
                raise
            warnings.warn(f"{package}.{info.name} failed to import: {e}", stacklevel=2)
