"""The REST query parameters of the filters, generated from camvault.filters.FILTERS.

:func:`filter_dependency` is a FastAPI dependency whose signature (one ``Annotated[...,
Query(...)]`` parameter per filter, with its description, examples and bounds) is built from
the list, so /api/events, /api/count, /api/histogram and their OpenAPI docs follow it.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import Query

from camvault.filters import FILTERS, Filter

__all__ = ["filter_dependency", "parameter"]


def parameter(f: Filter) -> inspect.Parameter:
    """Return the keyword parameter FastAPI reads one filter from (a repeated one: a list)."""
    value: Any = list[f.python_type] if f.repeats else f.python_type  # type: ignore[name-defined]
    extra: dict[str, Any] = {}
    if f.minimum is not None:
        extra["ge"] = f.minimum
    if f.maximum is not None:
        extra["le"] = f.maximum
    if f.kind == "string" and not f.repeats:
        extra["min_length"] = 1
    examples = [list(f.examples)] if f.repeats else list(f.examples)
    description = f.help + (" (repeat the parameter for several)." if f.repeats else ".")
    query = Query(description=description, examples=examples or None, **extra)
    return inspect.Parameter(
        f.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[value | None, query],
    )


def filter_dependency(**given: Any) -> dict[str, Any]:
    """Collect the query filters shared by /events, /count and /histogram (those given)."""
    return {k: v for k, v in given.items() if v is not None}


filter_dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [parameter(f) for f in FILTERS], return_annotation=dict[str, Any]
)
