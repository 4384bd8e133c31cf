"""EventStore and AsyncEventStore offer the same methods with the same typed parameters."""

from __future__ import annotations

import inspect
from typing import Any

from camvault import AsyncEventStore, EventStore

LIFECYCLE = {"close", "initialize"}
"""Opening and closing differ by nature (``with`` versus ``async with``)."""

SYNC_ONLY = {"insert_group", "write_group"}
"""Group commit is what the async face calls."""

OWN_CALLBACKS = {"subscribe"}
"""On both, but the async one takes coroutine functions too and calls them on the loop."""

ASYNC_ONLY = {"watch"}
"""watch() is an async iterator by nature."""


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }


def parameters(function: Any) -> list[tuple[str, Any, Any, Any]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()] + [
        ("return", None, None, signature.return_annotation)
    ]


def test_both_facades_offer_the_same_methods() -> None:
    sync = set(public_methods(EventStore)) - LIFECYCLE - SYNC_ONLY
    asynchronous = set(public_methods(AsyncEventStore)) - LIFECYCLE - ASYNC_ONLY
    assert sync == asynchronous


def test_each_async_method_has_the_parameters_of_its_sync_twin() -> None:
    sync = public_methods(EventStore)
    for name, method in public_methods(AsyncEventStore).items():
        if name in LIFECYCLE | ASYNC_ONLY | OWN_CALLBACKS:
            continue
        assert inspect.iscoroutinefunction(method), name
        assert parameters(method) == parameters(sync[name]), name
        assert method.__doc__, name


def test_no_public_signature_takes_untyped_keywords() -> None:
    for cls in (EventStore, AsyncEventStore):
        for name, method in [("__init__", cls.__init__), *public_methods(cls).items()]:
            for parameter in inspect.signature(method).parameters.values():
                annotation = str(parameter.annotation)
                assert parameter.annotation is not inspect.Parameter.empty or parameter.name in (
                    "self",
                ), f"{cls.__name__}.{name}({parameter.name}) has no type"
                if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                    assert annotation.startswith("Unpack["), f"{cls.__name__}.{name} takes **Any"


def test_the_async_store_takes_the_store_options_and_its_own() -> None:
    sync = parameters(EventStore.__init__)
    asynchronous = parameters(AsyncEventStore.__init__)
    assert [p for p in asynchronous if p[0] not in ("max_group", "read_threads")] == sync
