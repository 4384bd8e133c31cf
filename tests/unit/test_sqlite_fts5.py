"""The FTS5 compiler: the same matches as FTS5's own syntax, and no input FTS5 refuses."""

from __future__ import annotations

import random
from collections.abc import Iterator

import apsw
import pytest
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from camvault.backends.sqlite_fts5 import fts5_match
from camvault.errors import InvalidQueryError
from camvault.textquery import MAX_DEPTH, parse
from tests.unit.test_textquery import texts, trees

VOCABULARY = ("red", "van", "vans", "walks", "walking", "man", "dog", "and", "or", "café", "cafe")


@pytest.fixture(scope="module")
def fts() -> Iterator[apsw.Connection]:
    """An FTS5 table with the events table's tokenizer over random descriptions."""
    conn = apsw.Connection(":memory:")
    conn.execute(  # the tokenizer of migrations/sqlite/0003_time_ordered_text.sql
        "CREATE VIRTUAL TABLE t USING fts5 (d, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    rng = random.Random(7)
    for i in range(200):
        words = rng.choices(VOCABULARY, k=rng.randint(1, 5))
        conn.execute("INSERT INTO t (rowid, d) VALUES (?, ?)", (i, " ".join(words)))
    yield conn
    conn.close()


def matches(conn: apsw.Connection, expression: str) -> list[int]:
    return [
        r[0]
        for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid", (expression,))
    ]


# queries written in the FTS5 syntax users typed before: barewords, phrases, prefixes, implicit
# AND between terms, AND / OR / NOT and parentheses, in any precedence-sensitive mix
bare = st.one_of(st.sampled_from(VOCABULARY), st.sampled_from(("wa*", "va*", "ca*", "d*")))
quoted = st.sampled_from(('"red van"', '"man and"', '"walking man"', '"red va"*', '"café"'))
side_by_side = st.lists(st.one_of(bare, quoted), min_size=1, max_size=3).map(" ".join)
legacy = st.recursive(
    side_by_side,
    lambda e: st.one_of(
        st.tuples(e, st.sampled_from(("AND", "OR", "NOT")), e).map(" ".join),
        e.map(lambda s: f"({s})"),
    ),
    max_leaves=8,
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@seed(20261122)
@SETTINGS
@given(text=legacy)
@example("(red OR van) AND dog")
@example("(red OR van) NOT dog")
@example("red NOT (van OR dog)")
@example("red OR van dog")
@example("van NOT red dog")
@example("red dog NOT van OR man AND walks")
@example("red NOT van NOT dog")
@example("(red NOT van) NOT (dog NOT man)")
def test_same_matches_as_fts5_syntax(fts: apsw.Connection, text: str) -> None:
    assert matches(fts, fts5_match(parse(text))) == matches(fts, text)


@seed(20261122)
@SETTINGS
@given(text=texts)
def test_whatever_parses_fts5_accepts(fts: apsw.Connection, text: str) -> None:
    try:
        tree = parse(text)
    except InvalidQueryError:
        return
    matches(fts, fts5_match(tree))  # raises on an FTS5 syntax error


@seed(20261122)
@SETTINGS
@given(tree=trees)
def test_every_tree_compiles_to_valid_fts5(fts: apsw.Connection, tree: object) -> None:
    matches(fts, fts5_match(tree))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "(" * MAX_DEPTH + "red" + ")" * MAX_DEPTH,
        "red NOT (" * MAX_DEPTH + "van dog" + ")" * MAX_DEPTH,
        "(red OR " * MAX_DEPTH + "van" + ")" * MAX_DEPTH,
        "(man dog NOT " * MAX_DEPTH + "van" + ")" * MAX_DEPTH,
        " ".join(["a"] * 500),
        " OR ".join(["a"] * 200),
        " NOT ".join(["a"] * 166),
    ],
)
def test_the_deepest_and_longest_queries_run(fts: apsw.Connection, text: str) -> None:
    matches(fts, fts5_match(parse(text)))


def test_terms_are_fts5_strings() -> None:
    assert fts5_match(parse('van NOT red car OR "red va"* deliv*')) == (
        '"van" NOT ("red" AND "car") OR "red va"* AND "deliv"*'
    )
