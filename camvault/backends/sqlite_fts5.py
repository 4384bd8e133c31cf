"""The FTS5 compiler of camvault's text-query tree: every term becomes an FTS5 string.

FTS5 takes the same AND, OR and NOT with the same precedence, so the tree is written with
:func:`camvault.textquery.render`; only the terms differ. A term is always a quoted FTS5
string, so nothing a user types is FTS5 syntax (no column filters, ``^``, ``NEAR`` or ``+``),
while the table's tokenizer (porter stemming, diacritics removed) still applies to every word.
"""

from __future__ import annotations

from camvault.textquery import Node, Term, render

__all__ = ["fts5_match"]


def _string(term: Term) -> str:
    """Return a term as an FTS5 string (a phrase of its tokens), a prefix one with ``*``."""
    quoted = '"' + term.text.replace('"', '""') + '"'
    return quoted + "*" if term.prefix else quoted


def fts5_match(query: Node) -> str:
    """Return the FTS5 MATCH expression for a parsed text query."""
    return render(query, _string)
