"""Tell which Python wrote a Lambda layer's bytecode, from the marshal data alone (never run it).

Keras stores a Lambda's function as base64 of `marshal.dumps(function.__code__)`. The marshal
format has no version stamp, but the code-object layout changed in Python 3.11 (no `co_nlocals`,
new exception table), and Python 3.8 reads a 3.11+ code object as garbage ("bad marshal data").
Within the 3.8-3.10 layout, opcodes that Python 3.8 lacks show a newer writer.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Layout = Literal["py38-310", "py311+", "unknown", "unreadable"]

# Real Lambda code nests a few levels (a code object, its constants, an inner function's code)
# and is a few kilobytes; anything far beyond is not a function Keras wrote. The bounds keep this
# reader's recursion well inside Python's own limit.
MAX_NESTING = 100
MAX_ENCODED_CHARS = 8 * 1024 * 1024
_FLAG_REF = 0x80
_SIMPLE = {ord(c): None for c in "0NFTS.?"}


class _BadMarshal(Exception):
    pass


class _TooDeep(_BadMarshal):
    pass


@dataclass(frozen=True)
class LambdaCode:
    layout: Layout
    opcodes: frozenset[int]
    detail: str = ""
    # Every name the code looks up (globals and attributes: co_names), nested functions included.
    names: frozenset[str] = frozenset()

    @property
    def writer(self) -> str:
        return {
            "py38-310": "Python 3.8-3.10",
            "py311+": "Python 3.11 or newer",
            "unknown": "an unrecognised Python",
            "unreadable": "no Python it can be read as (unreadable Lambda code)",
        }[self.layout]


@dataclass
class _Code:
    code: bytes
    consts: list[Any]
    names: list[Any]


def inspect_lambda(function: Any) -> LambdaCode:
    """Read a Lambda config's `function` value (base64 text, or [code, defaults, closure])."""
    if isinstance(function, (list, tuple)) and function:
        function = function[0]
    if not isinstance(function, str):
        return LambdaCode("unknown", frozenset(), "no bytecode in the config")
    if len(function) > MAX_ENCODED_CHARS:
        size = f"{len(function):,} characters"
        return LambdaCode("unreadable", frozenset(), f"the encoded code is too large ({size})")
    try:
        raw = base64.b64decode(function.encode("ascii"), validate=False)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        # Keras 2.9 decodes it the same lenient way, so its load_model fails here too.
        return LambdaCode("unreadable", frozenset(), "the bytecode is not valid base64")
    for layout, reader in (("py38-310", _Reader.OLD), ("py311+", _Reader.NEW)):
        try:
            code = _Reader(raw, reader).read_all()
        except (_TooDeep, RecursionError):
            detail = f"the marshal data is nested more than {MAX_NESTING} levels deep"
            return LambdaCode("unreadable", frozenset(), detail)
        except (_BadMarshal, IndexError, struct.error, UnicodeDecodeError):
            continue
        if isinstance(code, _Code):
            names = frozenset(_names(code))
            return LambdaCode(layout, frozenset(_opcodes(code)), names=names)  # type: ignore[arg-type]
    return LambdaCode("unknown", frozenset(), "the marshal data matches no known code layout")


def _opcodes(code: _Code) -> Iterator[int]:
    yield from code.code[0::2]  # wordcode: (opcode, argument) pairs
    for const in code.consts:
        if isinstance(const, _Code):
            yield from _opcodes(const)


def _names(code: _Code) -> Iterator[str]:
    for name in code.names:
        yield name.decode("utf-8", "replace") if isinstance(name, bytes) else repr(name)
    for const in code.consts:
        if isinstance(const, _Code):
            yield from _names(const)


class _Reader:
    """A just-enough reader of CPython's marshal format (version 4) for code objects."""

    OLD = "old"  # 3.8-3.10: argcount, posonly, kwonly, nlocals, stacksize, flags, code, ...
    NEW = "new"  # 3.11+: argcount, posonly, kwonly, stacksize, flags, code, ...

    def __init__(self, data: bytes, layout: str) -> None:
        self.data = data
        self.pos = 0
        self.layout = layout
        self.refs: list[Any] = []
        self.depth = 0

    def read_all(self) -> Any:
        value = self.read()
        if self.pos != len(self.data):
            raise _BadMarshal("trailing bytes")
        return value

    def _take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise _BadMarshal("truncated")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def _int(self) -> int:
        return int(struct.unpack("<i", self._take(4))[0])

    def read(self) -> Any:
        byte = self._take(1)[0]
        flag, kind = byte & _FLAG_REF, chr(byte & ~_FLAG_REF)
        index = len(self.refs)
        if flag:
            self.refs.append(None)
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _TooDeep("nested too deep")
        value = self._value(kind)
        self.depth -= 1
        if flag:
            self.refs[index] = value
        return value

    def _value(self, kind: str) -> Any:
        if ord(kind) in _SIMPLE:
            return None
        readers = {
            "i": lambda: self._int(),
            "I": lambda: self._take(8),
            "g": lambda: self._take(8),
            "y": lambda: self._take(16),
            "f": lambda: self._take(self._take(1)[0]),
            "l": lambda: self._take(2 * abs(self._int())),
            "r": lambda: self.refs[self._int()],
            "c": self._code,
        }
        if kind in readers:
            return readers[kind]()
        if kind == "x":
            return [self._take(self._take(1)[0]) for _ in range(2)]
        if kind in "stuaA":
            return self._take(self._int())
        if kind in "zZ":
            return self._take(self._take(1)[0])
        if kind in "([<>":
            return [self.read() for _ in range(self._int())]
        if kind == ")":
            return [self.read() for _ in range(self._take(1)[0])]
        if kind == "{":
            return self._dict()
        raise _BadMarshal(f"unknown type code {kind!r}")

    def _dict(self) -> dict[Any, Any]:
        items: dict[Any, Any] = {}
        while True:
            key = self._take(1)
            if key == b"0":
                return items
            self.pos -= 1
            items[repr(self.read())] = self.read()

    def _code(self) -> _Code:
        header_ints = 6 if self.layout == self.OLD else 5
        for _ in range(header_ints):
            self._int()
        code = self.read()
        consts = self.read()
        if not isinstance(code, bytes) or not isinstance(consts, list):
            raise _BadMarshal("not a code object")
        # OLD: names, varnames, freevars, cellvars, filename, name, firstlineno, lnotab
        # NEW: names, localsplusnames, localspluskinds, filename, name, qualname, firstlineno,
        #      linetable, exceptiontable
        tail = (
            ["o", "o", "o", "o", "o", "o", "i", "o"]
            if self.layout == self.OLD
            else (["o", "o", "o", "o", "o", "o", "i", "o", "o"])
        )
        names = self.read()
        for part in tail[1:]:
            if part == "i":
                self._int()
            else:
                self.read()
        return _Code(code, consts, names if isinstance(names, list) else [])
