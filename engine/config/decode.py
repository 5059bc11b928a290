"""From the file's bytes to its tables, every error located: ``FILE:LINE: key.path: what is wrong``.

`tomllib` reports a syntax error's line itself but keeps no line for a value it parsed, and msgspec reports the
key path of a value it refused (``$.seller[0].channel.DE.step_cap``) but knows no file; `Source` joins the two
through `engine.config.locate`. msgspec's messages are reworded for a reader of TOML (a table, not an
``object``; the values an enumeration allows; the key that was unknown or missing, with the key path pointing at
it), and a check of the model's ``__post_init__``, which msgspec reports at the table, is pointed at the key its
message names first (the model's messages start with the field).

Numbers with a fraction are parsed as `Decimal`, so ``step_cap = 0.1`` is exactly a tenth.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as inspect

from engine.config.errors import ConfigError
from engine.config.locate import KeyPath, key_lines, line_of

__all__ = ["Source", "kind"]

_T = TypeVar("_T")

_LOCATED = re.compile(r"^(?P<problem>.*) - at `\$(?P<path>[^`]*)`$", re.DOTALL)
_PATH_PART = re.compile(r"\.(\w+)|\[(\d+)\]")
_EXPECTED = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<key>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]*)`$")
_ENUM = re.compile(r"^Invalid enum value (?P<value>.*)$", re.DOTALL)
_TOML_POSITION = re.compile(r"\s*\(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$")

# msgspec's names of types, in the words of TOML.
_KINDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "decimal": "a number",
    "bool": "a boolean (true or false)",
    "array": "an array",
    "object": "a table",
    "datetime": "a date-time",
    "date": "a date",
    "time": "a time",
}


def kind(value: object) -> str:
    """What a parsed TOML value is, in TOML's words: "a table", "an integer"."""
    name = {"Decimal": "decimal", "list": "array", "dict": "object"}.get(type(value).__name__, type(value).__name__)
    return _KINDS.get(name, name)


class Source:
    """One configuration file's text, and the means to say where in it something is wrong."""

    def __init__(self, file: Path, data: bytes) -> None:
        self.file = file
        try:
            self.text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ConfigError(file, line, (), "not UTF-8 text: save the file as UTF-8") from None
        self._lines: dict[KeyPath, int] | None = None

    def parse(self) -> dict[str, Any]:
        """The TOML document; a syntax error with its line and column."""
        try:
            return tomllib.loads(self.text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise self._syntax_error(str(exc)) from None

    def line(self, path: KeyPath) -> int:
        """The line defining ``path``, or its nearest enclosing key's, or 1."""
        if self._lines is None:
            self._lines = key_lines(self.text)
        return line_of(self._lines, path)

    def error(self, path: KeyPath, problem: str) -> ConfigError:
        return ConfigError(self.file, self.line(path), path, problem)

    def convert(self, value: object, shape: type[_T], at: KeyPath) -> _T:
        """``value`` (found at ``at`` in the document) as ``shape``; msgspec's refusal as a located `ConfigError`."""
        try:
            return msgspec.convert(value, shape)
        except msgspec.ValidationError as exc:
            path, problem = _explain(str(exc), inspect.type_info(shape))
            raise self.error(at + path, problem) from None

    def _syntax_error(self, message: str) -> ConfigError:
        position = _TOML_POSITION.search(message)
        problem = message[: position.start()] if position else message
        if position is not None and position.group("line") is not None:
            line, column = int(position.group("line")), position.group("column")
            problem = f"{problem} (column {column})"
        else:  # at the end of the document (or nowhere said)
            line = self.text.count("\n") + (0 if self.text.endswith("\n") else 1)
        return ConfigError(self.file, max(line, 1), (), f"not valid TOML: {_lower_first(problem)}")


def _explain(message: str, root: inspect.Type) -> tuple[KeyPath, str]:
    """msgspec's message as (the key path it is about, what is wrong in the words of a TOML file)."""
    located = _LOCATED.match(message)
    path: KeyPath = ()
    if located is not None:
        message = located.group("problem")
        path = tuple(name if name else int(index) for name, index in _PATH_PART.findall(located.group("path")))
    at = _type_at(root, path)
    if match := _UNKNOWN.match(message):
        key = match.group("key")
        return (*path, key), _unknown(key, at)
    if match := _MISSING.match(message):
        return (*path, match.group("key")), "required, but missing"
    if match := _EXPECTED.match(message):
        return path, f"expected {_kind_words(match.group('expected'))}, got {_kind_words(match.group('got'))}"
    if match := _ENUM.match(message):
        return path, f"{match.group('value')} is not one of: {', '.join(_choices(at))}"
    # A check of the model's __post_init__, reported at the table: its message starts with the key it is about.
    first = message.split(" ", 1)[0]
    if isinstance(at, inspect.StructType) and first in {field.name for field in at.fields}:
        return (*path, first), message[len(first) :].strip()
    return path, message


def _type_at(root: inspect.Type, path: KeyPath) -> inspect.Type | None:
    """The type a key path leads to from ``root``; None where it leads nowhere known."""
    current: inspect.Type | None = root
    for part in path:
        current = _optional(current)
        if isinstance(part, int) and isinstance(current, inspect.ListType | inspect.VarTupleType):
            current = current.item_type
        elif isinstance(part, str) and isinstance(current, inspect.StructType):
            current = next((field.type for field in current.fields if field.name == part), None)
        elif isinstance(part, str) and isinstance(current, inspect.DictType):
            current = current.value_type
        else:
            return None
    return _optional(current)


def _optional(info: inspect.Type | None) -> inspect.Type | None:
    """``X | None`` is X: TOML has no null, so an optional key is simply one left out."""
    if isinstance(info, inspect.UnionType):
        types = [member for member in info.types if not isinstance(member, inspect.NoneType)]
        if len(types) == 1:
            return types[0]
    return info


def _unknown(key: str, table: inspect.Type | None) -> str:
    known = [field.name for field in table.fields] if isinstance(table, inspect.StructType) else []
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key: did you mean {close[0]}?"
    return f"unknown key; known here: {', '.join(known)}" if known else "unknown key"


def _choices(info: inspect.Type | None) -> list[str]:
    if isinstance(info, inspect.EnumType):
        return [repr(member.value) for member in info.cls]
    if isinstance(info, inspect.LiteralType):
        return [repr(value) for value in info.values]
    return []


def _kind_words(names: str) -> str:
    words = [_KINDS.get(name, name) for name in names.split(" | ") if name != "null"]
    return " or ".join(words)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
