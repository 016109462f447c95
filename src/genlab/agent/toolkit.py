"""Tools as plain typed functions: the JSON schema an LLM sees is derived from the signature and the
docstring (never written twice), and every call is checked and turned into a `ToolResult`.

A tool's first parameter may be `ctx` (the run's shared state); it is passed by the loop and hidden
from the schema. Docstrings use the Google style: a summary, then `Args:` with `name: description`.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from genlab.errors import GenlabError, InvalidArgument, StorageError

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass
class ToolCall:
    """A model's request to run one tool; `arguments` is a dict, or the raw text if it was not JSON."""

    id: str
    name: str
    arguments: dict[str, Any] | str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass
class ToolResult:
    """What a tool returned (a JSON-able dict), or an error message the model can act on."""

    call_id: str
    name: str
    content: dict[str, Any]
    is_error: bool = False
    images: list[str] = field(default_factory=list)  # ids of images this call produced
    error_type: str | None = None  # the exception's class (e.g. "Unavailable"): decide on it

    def to_text(self) -> str:
        return json.dumps(self.content, sort_keys=True, default=str)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "name": self.name,
            "content": self.content,
            "is_error": self.is_error,
            "error_type": self.error_type,
            "images": list(self.images),
        }


@dataclass
class Tool:
    """One callable tool and the schema derived from it."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    fn: Callable
    takes_context: bool = False

    def schema(self) -> dict[str, Any]:
        """Neutral form: {name, description, parameters}; backends wrap it in their protocol."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def tool(fn: Callable) -> Tool:
    """Derive a `Tool` from a typed function with a Google-style docstring."""
    summary, arg_docs = parse_docstring(inspect.getdoc(fn) or "")
    if not summary:
        raise TypeError(f"tool {fn.__name__}: a docstring summary is required (the model reads it)")
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())
    takes_context = bool(params) and params[0].name == "ctx"
    properties, required = {}, []
    for p in params[1:] if takes_context else params:
        if p.name not in hints:
            raise TypeError(f"tool {fn.__name__}: parameter {p.name!r} needs a type annotation")
        if p.name not in arg_docs:
            raise TypeError(f"tool {fn.__name__}: parameter {p.name!r} is not described in Args:")
        prop = json_schema_of(hints[p.name])
        prop["description"] = arg_docs[p.name]
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
        elif p.default is not None:
            prop["default"] = p.default
        properties[p.name] = prop
    parameters = {"type": "object", "properties": properties, "required": required}
    parameters["additionalProperties"] = False
    return Tool(fn.__name__, summary, parameters, fn, takes_context)


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(summary, {arg: description}) from a Google-style docstring; continuation lines are joined.

    The summary is the first paragraph; the `Args:` section lists `name: text` indented once.
    """
    text = inspect.cleandoc(doc)
    summary = " ".join(text.split("\n\n")[0].split())
    args: dict[str, str] = {}
    in_args, current = False, None
    for line in text.splitlines():
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            in_args, current = True, None
            continue
        if line and not line[0].isspace():  # a new section (Returns:, Raises:) ends Args
            in_args = False
        if not in_args:
            continue
        m = re.match(r"^ {4}(\w+)(?: \([^)]*\))?: (.*)$", line)
        if m:
            current = m.group(1)
            args[current] = m.group(2).strip()
        elif current and line.strip():
            args[current] += " " + line.strip()
    return summary, args


def json_schema_of(annotation) -> dict[str, Any]:
    """JSON schema for a Python annotation: str/int/float/bool, list[X], Literal[...], X | None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"unsupported union {annotation!r}: use one type, optionally | None")
        return json_schema_of(members[0])
    if origin is typing.Literal:
        values = list(typing.get_args(annotation))
        return {"type": _JSON_TYPES[type(values[0])], "enum": values}
    if origin in (list, tuple, Iterable):
        (item,) = typing.get_args(annotation)[:1] or (str,)
        return {"type": "array", "items": json_schema_of(item)}
    if annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}
    raise TypeError(f"unsupported tool parameter type {annotation!r}")


def check_arguments(tool: Tool, arguments: dict[str, Any] | str) -> dict[str, Any]:
    """Validate a call's arguments against the tool's schema; raise InvalidArgument naming the problem.

    Lenient where a model would be: integral floats for integers, ints for numbers, numeric strings.
    """
    if isinstance(arguments, str):
        raise InvalidArgument(
            "arguments", f"a JSON object for tool {tool.name}", arguments[:200], hint="not JSON"
        )
    if not isinstance(arguments, dict):
        raise InvalidArgument("arguments", f"a JSON object for tool {tool.name}", arguments)
    props = tool.parameters["properties"]
    unknown = sorted(set(arguments) - set(props))
    if unknown:
        raise InvalidArgument(
            "arguments", f"only parameters {', '.join(props) or '(none)'}", ", ".join(unknown)
        )
    missing = [name for name in tool.parameters["required"] if arguments.get(name) is None]
    if missing:
        raise InvalidArgument("arguments", f"required parameter(s) {', '.join(missing)}", None)
    return {
        name: None if value is None else _coerce(name, value, props[name])
        for name, value in arguments.items()
    }


def _coerce(name: str, value, schema: dict[str, Any]):
    kind = schema["type"]
    if kind == "array":
        if not isinstance(value, list):
            raise InvalidArgument(name, "a list", value)
        return [_coerce(f"{name}[{i}]", v, schema["items"]) for i, v in enumerate(value)]
    out = value
    if kind == "integer":
        if (
            isinstance(value, float)
            and value.is_integer()
            or isinstance(value, str)
            and re.fullmatch(r"-?\d+", value.strip())
        ):
            out = int(value)
        if isinstance(out, bool) or not isinstance(out, int):
            raise InvalidArgument(name, "an integer", value)
    elif kind == "number":
        if isinstance(value, str):
            try:
                out = float(value)
            except ValueError:
                raise InvalidArgument(name, "a number", value) from None
        if isinstance(out, bool) or not isinstance(out, int | float):
            raise InvalidArgument(name, "a number", value)
        out = float(out)
    elif kind == "boolean" and not isinstance(value, bool):
        raise InvalidArgument(name, "true or false", value)
    elif kind == "string" and not isinstance(value, str):
        raise InvalidArgument(name, "a string", value)
    if "enum" in schema and out not in schema["enum"]:
        raise InvalidArgument(name, "one of " + ", ".join(map(str, schema["enum"])), value)
    return out


class Toolbox:
    """The tools of one run, by name; `call` never raises: failures become error results."""

    def __init__(self, tools: Iterable[Tool], ctx: Any = None):
        self.tools = {t.name: t for t in tools}
        self.ctx = ctx

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self.tools.values()]

    @staticmethod
    def error_result(call: ToolCall, message: str, error: Exception | None = None) -> ToolResult:
        kind = type(error).__name__ if error is not None else None
        return ToolResult(call.id, call.name, {"error": message}, is_error=True, error_type=kind)

    def call(self, call: ToolCall) -> ToolResult:
        t = self.tools.get(call.name)
        if t is None:
            known = ", ".join(self.tools)
            return self.error_result(call, f"unknown tool {call.name!r}; the tools are: {known}")
        try:
            kwargs = check_arguments(t, call.arguments)
            out = t.fn(self.ctx, **kwargs) if t.takes_context else t.fn(**kwargs)
        except StorageError:
            raise  # nothing can be stored: no tool can do its work, so the run ends here
        except GenlabError as e:
            return self.error_result(call, str(e), e)
        except Exception as e:  # a tool's bug must not kill the loop: the model sees the error
            return self.error_result(call, f"{type(e).__name__}: {e}", e)
        if not isinstance(out, dict):
            out = {"result": out}
        images = [str(i) for i in out.get("image_ids", [])] if isinstance(out, dict) else []
        return ToolResult(call.id, call.name, out, images=images)
