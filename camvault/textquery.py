"""camvault's text-query language: parsed once into a small immutable tree, compiled per engine.

::

    query    := or
    or       := and ("OR" and)*
    and      := not ("AND" not)*
    not      := terms ("NOT" terms)*          binary: van NOT red
    terms    := primary primary*              side by side: implicit AND, binds tightest
    primary  := word ["*"] | '"' phrase '"' ["*"] | "(" query ")"

A word is a run of letters, digits, ``_`` and non-ASCII characters; anything else (``-``,
``:``, ``^``, ...) belongs inside quotes. The operators are upper case; ``and``, ``or`` and
``not`` are words. The tree is :class:`Term`, :class:`And`, :class:`Or` and :class:`Not`;
an engine compiles it with a short recursive function (FTS5 strings, or tsquery's ``&``,
``|``, ``!`` and ``<->``), so no user input ever reaches an engine as syntax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from camvault.errors import InvalidQueryError

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "And", "Node", "Not", "Or", "Term", "parse", "render"]

MAX_LENGTH = 1000
"""The longest text query, in characters."""
MAX_DEPTH = 20
"""How deep parentheses may nest."""

_HINT = 'a full-text query takes words, "phrases", prefix*, AND, OR, NOT and parentheses'
_OPERATORS = ("AND", "OR", "NOT")


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a "phrase" (its words in order), matching as a prefix when ``prefix``."""

    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class And:
    """Every item matches."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one item matches."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``keep`` matches and none of ``drop`` does (``van NOT red NOT blue``)."""

    keep: Node
    drop: tuple[Node, ...]


Node: TypeAlias = Term | And | Or | Not
"""A parsed text query or any part of it."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "term", "(", ")", "*" or an operator
    at: int  # 1-based position in the text
    term: Term | None = None


def _fail(message: str, at: int) -> InvalidQueryError:
    """Return the error naming ``text``, saying what is wrong and where."""
    return InvalidQueryError("query", [("text", f"{message} (at {at}); {_HINT}")])


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_" or (ord(c) > 127 and not c.isspace())


def _term(text: str, phrase: bool, at: int) -> _Token:
    """Return a term token, refusing one with nothing to search for."""
    if not any(c.isalnum() for c in text):
        shown = f'"{text}"' if phrase else text
        raise _fail(f"{shown!r} has no letter or digit", at)
    return _Token("term", at, Term(text, phrase))


def _tokens(text: str) -> list[_Token]:
    """Split the text into terms, operators and parentheses."""
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c, at = text[i], i + 1
        if c.isspace():
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _fail("'\"' is not closed", at)
            out.append(_term(text[i + 1 : end], True, at))
            i = end + 1
        elif c == "*":
            last = out[-1] if out else None
            if last is None or last.term is None or last.term.prefix or text[i - 1].isspace():
                raise _fail("'*' must follow a word or \"phrase\", as in deliv*", at)
            out[-1] = _Token("term", last.at, Term(last.term.text, last.term.phrase, True))
            i += 1
        elif c in "()":
            out.append(_Token(c, at))
            i += 1
        elif _is_word_char(c):
            j = i
            while j < n and _is_word_char(text[j]):
                j += 1
            word = text[i:j]
            if word == "NEAR" and text[j : j + 1] == "(":
                raise _fail('NEAR(...) is not supported; use a "phrase" or AND', at)
            out.append(_Token(word, at) if word in _OPERATORS else _term(word, False, at))
            i = j
        else:
            raise _fail(f'{c!r} is only allowed inside "quotes"', at)
    return out


class _Parser:
    """Recursive descent over the tokens, one method per level of the grammar."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str:
        return self.tokens[self.i].kind if self.i < len(self.tokens) else ""

    def take(self) -> _Token:
        self.i += 1
        return self.tokens[self.i - 1]

    def parse_or(self, depth: int) -> Node:
        items = [self.parse_and(depth)]
        while self.peek() == "OR":
            self.take()
            items.append(self.parse_and(depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self, depth: int) -> Node:
        items = self.parse_not(depth)
        while self.peek() == "AND":
            self.take()
            items += self.parse_not(depth)
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self, depth: int) -> list[Node]:
        """Return the items an AND joins: the terms side by side, or one NOT."""
        terms = self.parse_terms(depth)
        if self.peek() != "NOT":
            return terms
        drop: list[Node] = []
        while self.peek() == "NOT":
            self.take()
            drop.append(_joined(self.parse_terms(depth)))
        return [Not(_joined(terms), tuple(drop))]

    def parse_terms(self, depth: int) -> list[Node]:
        items = [self.primary(depth)]
        while self.peek() in ("term", "("):
            items.append(self.primary(depth))
        return items

    def primary(self, depth: int) -> Node:
        kind = self.peek()
        if kind == "term":
            term = self.take().term
            assert term is not None
            return term
        if kind == "(":
            opening = self.take()
            if depth >= MAX_DEPTH:
                raise _fail(f"parentheses nest deeper than {MAX_DEPTH}", opening.at)
            if self.peek() == ")":
                raise _fail("'()' holds no term", opening.at)
            node = self.parse_or(depth + 1)
            if self.peek() != ")":
                raise _fail("'(' is not closed", opening.at)
            self.take()
            return node
        raise self.missing_term()

    def missing_term(self) -> InvalidQueryError:
        """Return the error for a term expected where there is none."""
        before = self.tokens[self.i - 1] if self.i else None
        here = self.tokens[self.i] if self.i < len(self.tokens) else None
        for op in (before, here):
            if op is not None and op.kind in _OPERATORS:
                example = ", as in van NOT red" if op.kind == "NOT" else ""
                return _fail(f"'{op.kind}' needs a term on both sides{example}", op.at)
        if before is not None and before.kind == "(":
            return _fail("'(' is not closed", before.at)
        assert here is not None  # tokens hold a term, so the text ran out after one
        return _fail("')' has no matching '('", here.at)


def _joined(items: list[Node]) -> Node:
    return items[0] if len(items) == 1 else And(tuple(items))


def parse(text: object) -> Node:
    """Parse a text query into its tree, or raise InvalidQueryError naming ``text``."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        raise InvalidQueryError(
            "query", [("text", f"must be a full-text query of 1 to {MAX_LENGTH} characters")]
        )
    parser = _Parser(_tokens(text))
    node = parser.parse_or(0)
    if parser.i < len(parser.tokens):  # only an unmatched ')' stops every level early
        raise _fail("')' has no matching '('", parser.tokens[parser.i].at)
    return node


def _camvault_term(term: Term) -> str:
    return (f'"{term.text}"' if term.phrase else term.text) + ("*" if term.prefix else "")


def render(node: Node, term: Callable[[Term], str] = _camvault_term) -> str:
    """Write a tree as infix text with AND, OR, NOT and as few parentheses as keep its shape.

    With the default ``term`` the text parses back to the same tree; an engine whose syntax
    shares these operators and their precedence (NOT, then AND, then OR) passes its own.
    """

    def sub(child: Node, bare: tuple[type, ...]) -> str:
        text = render(child, term)
        return text if isinstance(child, bare) else f"({text})"

    if isinstance(node, Term):
        return term(node)
    if isinstance(node, Or):
        return " OR ".join(sub(item, (Term, And, Not)) for item in node.items)
    if isinstance(node, And):
        return " AND ".join(sub(item, (Term, Not)) for item in node.items)
    return " NOT ".join(sub(item, (Term,)) for item in (node.keep, *node.drop))
