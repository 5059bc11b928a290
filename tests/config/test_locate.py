"""The locator finds the line that defines each key, however the TOML spells it, and never fails on any text."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.config.locate import KeyPath, key_lines, line_of

TRICKY = '''\
# [commented.header]
title = """
[not.a.header]
fake = 1
"""  # a multi-line string that looks like tables
literal = \'\'\'
[[nor.this]]
\'\'\'
"a.b" = 1
'c d'.e = 2
"\\u00e9t\\u00e9" = 3
ends = """with two quotes of its own"""""  # and "a = 1" in a comment
[[seller]]
id = "a"
[seller.channel.DE]
step_cap = 0.1
[seller.channel.DE.offers."SKU 1"]
step_cap = 0.2
[[seller]]
id = "b"
inline = { x = 1, y = { z = [1, 2] } }
list = [
  { name = "first" },
  # a comment with ] and }
  { name = "second" },
]
[seller.channel.FR]
step_cap = 0.3
[[seller.more]]
n = 1
[[seller.more]]
n = 2
'''


def test_each_spelling_of_a_key_is_found_on_its_line() -> None:
    assert tomllib.loads(TRICKY)  # the text is TOML
    lines = key_lines(TRICKY)
    expected: dict[KeyPath, int] = {
        ("title",): 2,
        ("literal",): 6,
        ("a.b",): 9,
        ("c d",): 10,
        ("c d", "e"): 10,
        ("été",): 11,
        ("ends",): 12,
        ("seller", 0): 13,
        ("seller", 0, "id"): 14,
        ("seller", 0, "channel", "DE"): 15,
        ("seller", 0, "channel", "DE", "step_cap"): 16,
        ("seller", 0, "channel", "DE", "offers", "SKU 1"): 17,
        ("seller", 0, "channel", "DE", "offers", "SKU 1", "step_cap"): 18,
        ("seller", 1): 19,
        ("seller", 1, "inline", "y", "z"): 21,
        ("seller", 1, "inline", "y", "z", 1): 21,
        ("seller", 1, "list", 0, "name"): 23,
        ("seller", 1, "list", 1, "name"): 25,
        ("seller", 1, "channel", "FR", "step_cap"): 28,
        ("seller", 1, "more", 0, "n"): 30,
        ("seller", 1, "more", 1): 31,
        ("seller", 1, "more", 1, "n"): 32,
    }
    assert {path: lines.get(path) for path in expected} == expected
    # Nothing inside a string or a comment is a key.
    assert not {"not", "fake", "nor", "commented", "a = 1"} & {part for path in lines for part in path}


def test_an_unknown_path_falls_back_to_its_nearest_enclosing_table() -> None:
    lines = key_lines(TRICKY)
    assert line_of(lines, ("seller", 1, "channel", "FR", "nothing", "here")) == 27
    assert line_of(lines, ("seller", 5)) == 13
    assert line_of(lines, ("nowhere",)) == 1
    assert line_of(lines, ()) == 1


@given(st.text())
def test_never_fails_on_any_text(text: str) -> None:
    lines = key_lines(text)
    assert all(1 <= line <= text.count("\n") + 1 for line in lines.values())


@given(
    st.lists(
        st.sampled_from(['"""', "'''", '"', "'", "[", "[[", "]", "{", "}", "=", ".", ",", "\\", "\n", "#", "a", " "])
    )
)
def test_never_fails_on_broken_toml(tokens: list[str]) -> None:
    key_lines("".join(tokens))


# --- random documents, written in every style TOML allows, each key's line recorded as it is written ---

KEYS = st.sampled_from(["a", "b", "step_cap", "SKU-1", "1", "_", "x y", "a.b", "été", 'q"t', "[h]", "#", ""])
STRINGS = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(["\n[fake]\nk = 1\n", '"""', "'''", "# no comment", "a = [", "}", "\\", '\n"\n""\n']),
)
SCALARS = st.one_of(st.integers(-(2**63), 2**63 - 1), st.booleans(), STRINGS, st.lists(st.integers(0, 9), max_size=3))


@dataclass
class Node:
    """A value of the document, with how it is written: a table as a header, dotted keys or inline."""

    kind: str  # "scalar", "table" or "tables" (an array of tables)
    value: Any = None
    style: str = "header"
    children: dict[str, Node] = field(default_factory=dict)
    entries: list[dict[str, Node]] = field(default_factory=list)
    multiline: bool = False


@st.composite
def tables(draw: st.DrawFn, depth: int = 0) -> dict[str, Node]:
    keys = draw(st.lists(KEYS, max_size=4, unique=True))
    return {key: draw(nodes(depth)) for key in keys}


@st.composite
def nodes(draw: st.DrawFn, depth: int) -> Node:
    kind = draw(st.sampled_from(["scalar"] if depth >= 3 else ["scalar", "scalar", "table", "tables"]))
    if kind == "scalar":
        value = draw(SCALARS)
        return Node("scalar", value, multiline=isinstance(value, str) and draw(st.booleans()))
    if kind == "table":
        return Node(
            "table", style=draw(st.sampled_from(["header", "dotted", "inline"])), children=draw(tables(depth + 1))
        )
    return Node("tables", entries=draw(st.lists(tables(depth + 1), min_size=1, max_size=3)))


def plain(node: Node) -> Any:
    if node.kind == "scalar":
        return node.value
    if node.kind == "table":
        return {key: plain(child) for key, child in node.children.items()}
    return [{key: plain(child) for key, child in entry.items()} for entry in node.entries]


class Writer:
    def __init__(self, quote_all: bool) -> None:
        self.lines: list[str] = []
        self.expected: dict[KeyPath, int] = {}
        self.quote_all = quote_all

    def emit(self, text: str, *paths: KeyPath, nested: tuple[tuple[KeyPath, int], ...] = ()) -> None:
        """Write ``text``: ``paths`` are defined on its first line, each of ``nested`` so many lines below it."""
        line = len(self.lines) + 1
        self.lines += text.split("\n")
        for path in paths:
            self.expected.setdefault(path, line)
        for path, below in nested:
            self.expected.setdefault(path, line + below)

    def key(self, key: str) -> str:
        bare = key and all(char.isascii() and (char.isalnum() or char in "_-") for char in key)
        return key if bare and not self.quote_all else _basic(key)

    def block(self, path: KeyPath, table: dict[str, Node]) -> None:
        """A table's own keys, then its sub-tables under headers of their own."""
        for key, node in table.items():
            if node.kind == "scalar" or (node.kind == "table" and node.style != "header"):
                self.keyval(path, (key,), node)
        for key, node in table.items():
            name = ".".join(self.key(part) for part in (*path, key) if isinstance(part, str))
            if node.kind == "table" and node.style == "header":
                self.emit(f"[{name}]", (*path, key))
                self.block((*path, key), node.children)
            elif node.kind == "tables":
                for index, entry in enumerate(node.entries):
                    self.emit(f"[[{name}]]", (*path, key), (*path, key, index))
                    self.block((*path, key, index), entry)

    def keyval(self, path: KeyPath, keys: tuple[str, ...], node: Node) -> None:
        """``a.b.c = value``: a scalar, an inline table, or a dotted table's keys one by one."""
        if node.kind == "table" and node.style == "dotted" and node.children:
            for key, child in node.children.items():
                header = child.kind == "table" and child.style == "header"
                self.keyval(path, (*keys, key), inline(child) if header else child)
            return
        written = [f"{'.'.join(self.key(key) for key in keys)} = "]
        nested: list[tuple[KeyPath, int]] = []
        self.value((*path, *keys), node, written, nested)
        own = [(*path, *keys[:end]) for end in range(1, len(keys) + 1)]
        self.emit("".join(written), *own, nested=tuple(nested))

    def value(self, path: KeyPath, node: Node, written: list[str], nested: list[tuple[KeyPath, int]]) -> None:
        """Write a value; ``nested`` gets each path it defines, with its line counted from the statement's first."""
        if node.kind == "scalar":
            if node.multiline:
                written.append('"""\n' + "".join(_escaped(char) for char in node.value) + '"""')
            else:
                written.append(_basic(node.value) if isinstance(node.value, str) else json.dumps(node.value))
            return
        # A table is {key = value, ...}; an array of tables [{...}, ...], each entry an inline table.
        children: list[tuple[str | int, Node]] = (
            list(node.children.items())
            if node.kind == "table"
            else [(index, Node("table", children=entry)) for index, entry in enumerate(node.entries)]
        )
        written.append("{" if node.kind == "table" else "[")
        for number, (key, child) in enumerate(children):
            written.append(", " if number else "")
            nested.append(((*path, key), "".join(written).count("\n")))
            if isinstance(key, str):
                written.append(f"{self.key(key)} = ")
            self.value((*path, key), child, written, nested)
        written.append("}" if node.kind == "table" else "]")


def inline(node: Node) -> Node:
    return Node("table", style="inline", children=node.children)


def _basic(text: str) -> str:
    return '"' + "".join("\\n" if char == "\n" else _escaped(char) for char in text) + '"'


def _escaped(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if char != "\n" and (ord(char) < 0x20 or ord(char) == 0x7F):
        return f"\\u{ord(char):04x}"
    return char


@given(tables(), st.booleans())
def test_finds_the_line_of_every_key_of_a_random_document(document: dict[str, Node], quote_all: bool) -> None:
    writer = Writer(quote_all)
    writer.block((), document)
    text = "\n".join(writer.lines) + "\n"
    assert tomllib.loads(text) == {key: plain(node) for key, node in document.items()}, text
    lines = key_lines(text)
    found = {path: lines.get(path) for path in writer.expected}
    assert found == writer.expected, text
