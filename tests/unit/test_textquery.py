"""camvault's text-query language: the tree it parses to, its errors, and the store using it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from camvault import Event, EventStore, InvalidQueryError
from camvault.cli import app
from camvault.textquery import MAX_DEPTH, And, Node, Not, Or, Term, parse, render

W = Term  # a word


def phrase(text: str, prefix: bool = False) -> Term:
    return Term(text, phrase=True, prefix=prefix)


# -- the tree -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("package", W("package")),
        ("  package\t", W("package")),
        ('"red van"', phrase("red van")),
        ("deliv*", W("deliv", prefix=True)),
        ('"red va"*', phrase("red va", prefix=True)),
        ("red van", And((W("red"), W("van")))),
        ("red AND van", And((W("red"), W("van")))),
        ("red OR van", Or((W("red"), W("van")))),
        ("van NOT red", Not(W("van"), (W("red"),))),
        ("van NOT red NOT blue", Not(W("van"), (W("red"), W("blue")))),
        # NOT binds tighter than AND, AND tighter than OR
        ("a OR b AND c", Or((W("a"), And((W("b"), W("c")))))),
        ("a AND b NOT c", And((W("a"), Not(W("b"), (W("c"),))))),
        ("a OR b NOT c", Or((W("a"), Not(W("b"), (W("c"),))))),
        # terms side by side bind tightest, as in FTS5: van NOT (red car)
        ("van NOT red car", Not(W("van"), (And((W("red"), W("car"))),))),
        ("red car NOT van", Not(And((W("red"), W("car"))), (W("van"),))),
        ("a OR b c", Or((W("a"), And((W("b"), W("c")))))),
        ("a b AND c", And((W("a"), W("b"), W("c")))),
        # parentheses, also side by side with terms
        ("(a OR b) c", And((Or((W("a"), W("b"))), W("c")))),
        ("(a b) AND c", And((And((W("a"), W("b"))), W("c")))),
        ("((a))", W("a")),
        ("red(van)", And((W("red"), W("van")))),
        ('red"van"', And((W("red"), phrase("van")))),
        # operators are upper case; anything else is a word
        ("red and van", And((W("red"), W("and"), W("van")))),
        ("red or van", And((W("red"), W("or"), W("van")))),
        ("Not red", And((W("Not"), W("red")))),
        ('"AND"', phrase("AND")),
        ("NEAR", W("NEAR")),
        ("NEAR (a)", And((W("NEAR"), W("a")))),
        # words: letters, digits, _ and non-ASCII; anything goes inside quotes
        ("café t_1", And((W("café"), W("t_1")))),
        ('"llm_description:red"', phrase("llm_description:red")),
        ('"^red NEAR(x) -y"', phrase("^red NEAR(x) -y")),
    ],
)
def test_text_parses_to_its_tree(text: str, tree: Node) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AND", "'AND' needs a term on both sides (at 1)"),
        ("door AND", "'AND' needs a term on both sides (at 6)"),
        ("red OR", "'OR' needs a term on both sides (at 5)"),
        ("red AND OR van", "'AND' needs a term on both sides (at 5)"),
        ("(OR red)", "'OR' needs a term on both sides (at 2)"),
        ("NOT", "'NOT' needs a term on both sides, as in van NOT red (at 1)"),
        ("NOT red", "'NOT' needs a term on both sides, as in van NOT red (at 1)"),
        ("red NOT", "'NOT' needs a term on both sides, as in van NOT red (at 5)"),
        ('"unclosed phrase', "'\"' is not closed (at 1)"),
        ('red "van', "'\"' is not closed (at 5)"),
        ("(red", "'(' is not closed (at 1)"),
        ("a (b (c)", "'(' is not closed (at 3)"),
        ("(", "'(' is not closed (at 1)"),
        ("red)", "')' has no matching '(' (at 4)"),
        (")", "')' has no matching '(' (at 1)"),
        ("()", "'()' holds no term (at 1)"),
        ("red ( )", "'()' holds no term (at 5)"),
        ("*", "'*' must follow a word or \"phrase\", as in deliv* (at 1)"),
        ("red *", "'*' must follow a word or \"phrase\", as in deliv* (at 5)"),
        ("red**", "'*' must follow a word or \"phrase\", as in deliv* (at 5)"),
        ("(*)", "'*' must follow a word or \"phrase\", as in deliv* (at 2)"),
        ("front-door", "'-' is only allowed inside \"quotes\" (at 6)"),
        ("llm_description:red", "':' is only allowed inside \"quotes\" (at 16)"),
        ("col:red", "':' is only allowed inside \"quotes\" (at 4)"),
        ("^red", "'^' is only allowed inside \"quotes\" (at 1)"),
        ("red + van", "'+' is only allowed inside \"quotes\" (at 5)"),
        ("{a b}:red", "'{' is only allowed inside \"quotes\" (at 1)"),
        ("NEAR(red van)", 'NEAR(...) is not supported; use a "phrase" or AND (at 1)'),
        ("red NEAR(red van, 3)", 'NEAR(...) is not supported; use a "phrase" or AND (at 5)'),
        ('""', "'\"\"' has no letter or digit (at 1)"),
        ('red "..."', "'\"...\"' has no letter or digit (at 5)"),
        ("_", "'_' has no letter or digit (at 1)"),
        (" ", "must be a full-text query of 1 to 1000 characters"),
        ("a" * 1001, "must be a full-text query of 1 to 1000 characters"),
        (
            "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1),
            "parentheses nest deeper than 20 (at 21)",
        ),
    ],
)
def test_errors_say_what_is_wrong_and_where(text: str, message: str) -> None:
    with pytest.raises(InvalidQueryError) as exc:
        parse(text)
    assert exc.value.fields == ["text"]
    [(_, got)] = exc.value.problems
    assert got.startswith(message)
    assert "fts5" not in got.lower()


def test_an_error_also_says_what_the_language_takes() -> None:
    with pytest.raises(InvalidQueryError) as exc:
        parse("AND")
    assert str(exc.value) == (
        "invalid query: text: 'AND' needs a term on both sides (at 1); a full-text query "
        'takes words, "phrases", prefix*, AND, OR, NOT and parentheses'
    )


def test_a_non_string_is_refused() -> None:
    with pytest.raises(InvalidQueryError) as exc:
        parse(5)
    assert exc.value.fields == ["text"]


def test_parentheses_may_nest_to_the_limit() -> None:
    text = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse(text) == W("a")


# -- random trees and random text -----------------------------------------------------------

WORD_CHARS = "abcxyzAZ019_éÜß\u2019\u2014"  # also a curly apostrophe and a dash
PHRASE_CHARS = WORD_CHARS + " -:^*()+{}'.,\t"
OPERATOR_LIKE = ("and", "or", "not", "And", "NEAR", "near", "ANDY", "ORder", "NOTE")

words = st.one_of(
    st.sampled_from(OPERATOR_LIKE),
    st.text(WORD_CHARS, min_size=1, max_size=6),
).filter(lambda w: any(c.isalnum() for c in w) and w not in ("AND", "OR", "NOT"))
phrases = st.one_of(
    st.sampled_from(("AND", "OR", "NOT", "NEAR(a b)", "llm_description:x")),
    st.text(PHRASE_CHARS, min_size=1, max_size=12),
).filter(lambda p: any(c.isalnum() for c in p))
terms = st.one_of(
    st.builds(Term, words, st.just(False), st.booleans()),
    st.builds(Term, phrases, st.just(True), st.booleans()),
)


def _combine(kids: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    several = st.lists(kids, min_size=2, max_size=4).map(tuple)
    return st.one_of(
        several.map(And),
        several.map(Or),
        st.builds(Not, kids, st.lists(kids, min_size=1, max_size=3).map(tuple)),
    )


trees = st.recursive(terms, _combine, max_leaves=15)

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@seed(20261122)
@SETTINGS
@given(tree=trees)
def test_a_rendered_tree_parses_back_equal(tree: Node) -> None:
    assert parse(render(tree)) == tree


SYNTAX = ("red", "van", "AND", "OR", "NOT", "NEAR", "(", ")", '"', "*", " ", "-", ":", "^", "_")
texts = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(SYNTAX), max_size=25).map("".join),
    st.lists(st.one_of(st.sampled_from(SYNTAX), st.text(max_size=3)), max_size=15).map("".join),
)


@seed(20261122)
@SETTINGS
@given(text=texts)
def test_any_text_parses_or_raises_only_a_text_error(text: str) -> None:
    try:
        tree = parse(text)
    except InvalidQueryError as exc:
        assert exc.fields == ["text"]
        at = re.search(r"\(at (\d+)\)", str(exc))
        assert at is None or 1 <= int(at.group(1)) <= len(text)
        return
    assert parse(render(tree)) == tree  # the rendering is a canonical form


# -- through the store: every entry point reports the same error, before any SQL ------------

T = datetime(2026, 11, 1, 12, tzinfo=UTC)


def describe(store: EventStore, *descriptions: str) -> None:
    store.insert_events(
        [Event(camera_id="c", timestamp=T, llm_description=d) for d in descriptions]
    )


@pytest.mark.parametrize("text", ["AND", "llm_description:red", "NEAR(red van)", "^red", "*"])
def test_count_histogram_and_query_report_the_same_error(
    fresh_store: EventStore, text: str
) -> None:
    messages = set()
    for call in (fresh_store.query, fresh_store.count, fresh_store.histogram):
        with pytest.raises(InvalidQueryError) as exc:
            call(text=text)
        assert exc.value.fields == ["text"]
        messages.add(exc.value.problems[0][1])
    assert len(messages) == 1  # an empty store too: no engine is asked


def test_the_text_is_checked_before_the_store_is_used(db_path: Path) -> None:
    store = EventStore(db_path)
    store.close()
    with pytest.raises(InvalidQueryError):
        store.count(text="red AND")


def test_what_used_to_be_engine_syntax_is_searched_as_words(
    fresh_store: EventStore, engine: str
) -> None:
    describe(
        fresh_store,
        "llm description red van",  # 1
        "red car at the gate",  # 2
        "a blue van and a dog",  # 3
        "red and blue bikes",  # 4
        "man in a t-shirt walks by",  # 5
        "delivery of a package at the café",  # 6
        "a bike near red vans",  # 7
    )
    count = fresh_store.count
    assert count(text='"llm_description:red"') == 1  # the words of a column filter, a phrase
    assert count(text='"^red"') == 4  # 1, 2, 4, 7: no initial-token anchor
    assert count(text='"NEAR(red van)"') == 1  # 7: the phrase near red van
    assert count(text='"t-shirt"') == 1
    assert count(text="(red OR blue) van") == 3  # 1, 3, 7: groups side by side are joined by AND
    assert count(text="red and blue") == 1  # 4: lowercase 'and' is a word
    # no description holds the word 'or'; PostgreSQL's english configuration drops such stop
    # words, leaving red AND blue: 4
    assert count(text="red or blue") == (0 if engine == "sqlite" else 1)
    assert count(text="red OR blue") == 5  # 1, 2, 3, 4, 7
    assert count(text="van NOT red car") == 3  # 1, 3, 7: van NOT (red car)
    assert count(text="walking") == 1  # stemmed: walks
    assert count(text="café deliv*") == 1  # prefix
    # SQLite removes diacritics; PostgreSQL's english configuration keeps them
    assert count(text="cafe deliv*") == (1 if engine == "sqlite" else 0)
    assert count(text="red van*") == 2  # 1, 7
    assert count(text='"blue va"*') == 1


def test_the_cli_prints_the_error_on_one_line(db_path: Path) -> None:
    EventStore(db_path).close()
    result = CliRunner().invoke(app, ["query", "--db", str(db_path), "--text", "red AND"])
    assert result.exit_code == 1
    assert "text: 'AND' needs a term on both sides (at 5)" in result.output
    assert "Traceback" not in result.output


def test_the_readme_examples_parse() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Text queries", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    examples = [x for row in rows for x in re.findall(r"`([^`]+)`", row)]
    assert len(examples) == 9
    for text in examples:
        parse(text)
    refused = re.search(r"`front-door` is refused\s+\(`([^`]+)`\)", section)
    assert refused is not None
    with pytest.raises(InvalidQueryError) as exc:
        parse("front-door")
    assert exc.value.problems[0][1].startswith(refused.group(1))
