"""Where in a TOML text each key is defined: the line numbers `tomllib` throws away.

An error found after parsing (a wrong type, an unknown key, a value out of range) names a key path such as
``("seller", 0, "channel", "DE", "step_cap")``; `key_lines` scans the text once and maps every path the text
defines to the line of its definition: a ``key = value`` line, a ``[table]`` or ``[[array]]`` header (entries of an
array of tables counted as the parser counts them), each part of a dotted key, a quoted key, a key inside an
inline table, and each element of an array (at the line where the element starts).

The scan is lenient and total: it follows TOML 1.0 closely enough to skip every string, array and inline table
(so a ``[`` inside a multi-line string is no header), never raises, and always moves forward, so a text that is
not TOML at all yields a partial map rather than an error. `line_of` falls back to the nearest enclosing path it
knows, and to line 1.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["KeyPath", "key_lines", "line_of"]

KeyPath = tuple[str | int, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_SCALAR_END = frozenset("\n,]}#")


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int:
    """The line that defines ``path`` (``lines`` from `key_lines`), else that of its nearest enclosing key, else 1."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return 1


def key_lines(text: str) -> dict[KeyPath, int]:
    """Every key path ``text`` defines, with the line (1-based) where it is defined."""
    scanner = _Scanner(text)
    scanner.document()
    return scanner.lines


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {}
        # A table named by a header is defined there, even where a dotted key or a deeper header implied it before.
        self.headers: set[KeyPath] = set()
        # How many entries each array of tables has so far; its path includes the indexes of its parents.
        self.arrays: dict[KeyPath, int] = {}

    # --- characters ---

    def peek(self, ahead: int = 0) -> str:
        at = self.pos + ahead
        return self.text[at] if at < len(self.text) else ""

    def startswith(self, token: str | tuple[str, ...]) -> bool:
        return self.text.startswith(token, self.pos)

    def advance(self, count: int = 1) -> None:
        end = min(self.pos + count, len(self.text))
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def skip_blanks(self) -> None:
        while self.peek() in (" ", "\t"):
            self.advance()

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.text.find("\n", self.pos)
            self.advance((len(self.text) if end < 0 else end) - self.pos)

    def skip_space(self) -> None:
        """Blanks, newlines and comments: what may stand between the elements of an array."""
        while self.peek() in (" ", "\t", "\r", "\n", "#"):
            if self.peek() == "#":
                self.skip_comment()
            else:
                self.advance()

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.advance((len(self.text) if end < 0 else end) - self.pos)

    # --- the document ---

    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_space()
            if not self.peek():
                return
            start = self.pos
            if self.startswith("[["):
                table = self.header(array=True)
            elif self.peek() == "[":
                table = self.header(array=False)
            else:
                self.keyval(table)
            self.skip_blanks()
            self.skip_comment()
            if self.peek() not in ("\n", "\r", ""):
                self.skip_line()  # not TOML: whatever follows a statement on its line
            if self.pos == start:
                self.advance()

    def header(self, *, array: bool) -> KeyPath:
        line = self.line
        self.advance(2 if array else 1)
        keys = self.key()
        self.skip_blanks()
        if self.startswith("]]" if array else "]"):
            self.advance(2 if array else 1)
        path = self.resolve(keys[:-1], line)
        if keys:
            path += (keys[-1],)
        if array:
            count = self.arrays.get(path, 0) + 1
            self.arrays[path] = count
            self.lines.setdefault(path, line)
            path += (count - 1,)
        if path not in self.headers:
            self.headers.add(path)
            self.lines[path] = line
        return path

    def resolve(self, keys: list[str], line: int) -> KeyPath:
        """The concrete path of a header's parent keys: an array of tables stands for its latest entry."""
        path: KeyPath = ()
        for key in keys:
            path += (key,)
            self.lines.setdefault(path, line)
            if path in self.arrays:
                path += (self.arrays[path] - 1,)
        return path

    def keyval(self, table: KeyPath) -> None:
        line = self.line
        keys = self.key()
        if not keys:
            self.skip_line()
            return
        path = table
        for key in keys:
            path += (key,)
            self.lines.setdefault(path, line)
        self.skip_blanks()
        if self.peek() == "=":
            self.advance()
            self.skip_blanks()
            self.value(path)

    def key(self) -> list[str]:
        """A (dotted) key; empty where there is none."""
        keys: list[str] = []
        while True:
            self.skip_blanks()
            start = self.pos
            part = self.simple_key()
            if self.pos == start:
                return keys
            keys.append(part)
            self.skip_blanks()
            if self.peek() != ".":
                return keys
            self.advance()

    def simple_key(self) -> str:
        if self.peek() == '"':
            return self.basic_string()
        if self.peek() == "'":
            return self.literal_string()
        start = self.pos
        while self.peek() and self.peek() in _BARE:
            self.advance()
        return self.text[start : self.pos]

    # --- values ---

    def value(self, path: KeyPath) -> None:
        if self.startswith(('"""', "'''")):
            self.multiline_string(self.peek())
        elif self.peek() == '"':
            self.basic_string()
        elif self.peek() == "'":
            self.literal_string()
        elif self.peek() == "[":
            self.array(path)
        elif self.peek() == "{":
            self.inline_table(path)
        else:
            while self.peek() and self.peek() not in _SCALAR_END:
                self.advance()

    def array(self, path: KeyPath) -> None:
        self.advance()
        index = 0
        while True:
            self.skip_space()
            if self.peek() in ("]", ""):
                self.advance()
                return
            start = self.pos
            element = (*path, index)
            self.lines.setdefault(element, self.line)
            self.value(element)
            index += 1
            self.skip_space()
            if self.peek() == ",":
                self.advance()
            elif self.pos == start:
                self.advance()  # not a value: step over it

    def inline_table(self, path: KeyPath) -> None:
        self.advance()
        while True:
            self.skip_space()
            if self.peek() in ("}", ""):
                self.advance()
                return
            start = self.pos
            self.keyval(path)
            self.skip_space()
            if self.peek() == "," or self.pos == start:
                self.advance()  # the separator, or what is no key: step over it

    def basic_string(self) -> str:
        """A one-line ``"…"`` string, escapes decoded as the parser decodes them (a key is matched by its value)."""
        self.advance()
        chars: list[str] = []
        while self.peek() not in ('"', "\n", ""):
            char = self.peek()
            if char == "\\":
                chars.append(self.escape())
            else:
                chars.append(char)
                self.advance()
        if self.peek() == '"':
            self.advance()
        return "".join(chars)

    def escape(self) -> str:
        code = self.peek(1)
        if code in _ESCAPES:
            self.advance(2)
            return _ESCAPES[code]
        width = {"u": 4, "U": 8}.get(code)
        digits = self.text[self.pos + 2 : self.pos + 2 + width] if width else ""
        if width and len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
            self.advance(2 + width)
            value = int(digits, 16)
            return chr(value) if value <= 0x10FFFF else ""
        self.advance(2 if code not in ("", "\n") else 1)
        return ""

    def literal_string(self) -> str:
        self.advance()
        start = self.pos
        while self.peek() not in ("'", "\n", ""):
            self.advance()
        text = self.text[start : self.pos]
        if self.peek() == "'":
            self.advance()
        return text

    def multiline_string(self, quote: str) -> None:
        self.advance(3)
        while self.peek():
            if quote == '"' and self.peek() == "\\":
                self.advance(2)
            elif self.startswith(quote * 3):
                run = 3
                while run < 5 and self.peek(run) == quote:
                    run += 1  # up to two quotes of the content may stand right before the closing three
                self.advance(run)
                return
            else:
                self.advance()
