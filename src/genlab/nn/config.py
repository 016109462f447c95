"""`ModelConfig`: the base of every model's @dataclass config, so each one round-trips through the
JSON config of a checkpoint (`to_dict` / `from_dict`) with its architecture name attached.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar

from genlab.errors import InvalidArgument


@dataclasses.dataclass
class ModelConfig:
    """Subclasses are dataclasses and set `arch` (the registry key, e.g. "dit")."""

    arch: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: every field plus "arch"; tuples become lists."""
        out: dict[str, Any] = {"arch": self.arch}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides):
        """Build from `to_dict` output (with "arch" optional) plus overrides; unknown keys raise."""
        data = {**data, **overrides}
        arch = data.pop("arch", cls.arch)
        if arch != cls.arch:
            raise InvalidArgument("arch", f"{cls.arch!r} for {cls.__name__}", arch)
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidArgument(
                f"{cls.__name__} field", "one of " + ", ".join(sorted(names)), unknown[0]
            )
        for key, value in data.items():
            if isinstance(value, list) and typing.get_origin(hints.get(key)) is tuple:
                data[key] = tuple(value)
        return cls(**data)

    def replace(self, **changes):
        """A copy with some fields changed (unknown names raise InvalidArgument)."""
        return type(self).from_dict(self.to_dict(), **changes)
