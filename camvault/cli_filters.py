"""The CLI's filter options, generated from camvault.filters.FILTERS, and its time parsing.

``@filter_options()`` adds one option per filter (names and help from the list) to a Typer
command and hands the command one ``filters`` dict, ready for ``EventStore.query(**filters)``.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from camvault.filters import FILTERS, Filter
from camvault.models import MIN_TIME

__all__ = ["filter_options", "filters_from", "parse_age", "parse_when", "zone"]

_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_WHEN = "2026-11-20, 2026-11-20T08:00 (in --tz), or an age: 24h, 7d"

Command = TypeVar("Command", bound=Callable[..., Any])


def parse_age(text: str, option: str) -> timedelta:
    """Parse an age such as 30d, 12h, 2w; one older than 1970 means "since 1970"."""
    match = _AGE.match(text.strip().lower())
    if not match:
        raise typer.BadParameter(
            f"{text!r} is not an age such as 30m, 12h, 7d or 2w", param_hint=option
        )
    oldest = datetime.now(UTC) - MIN_TIME  # nothing is stored before 1970
    try:
        age = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    except OverflowError:
        return oldest
    return min(age, oldest)


def zone(tz: str | None) -> ZoneInfo:
    """Resolve --tz."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {tz!r}", param_hint="--tz") from None


def parse_when(text: str | None, option: str, tz: str | None) -> datetime | None:
    """Parse --since/--until: an ISO date or time (in --tz when it has none), or an age."""
    if text is None:
        return None
    if _AGE.match(text.strip().lower()):
        return max(MIN_TIME, datetime.now(UTC) - parse_age(text, option))
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        if re.match(r"^\s*\d{4}-\d", text) and "isoformat" not in str(exc):
            message = f"{text!r} is not a valid date: {exc}"  # 2026-13-45: month must be ...
        else:
            message = (
                f"{text!r} is neither a date/time (2026-11-20, 2026-11-20T08:00) nor an age (7d)"
            )
        raise typer.BadParameter(message, param_hint=option) from None
    return value if value.tzinfo else value.replace(tzinfo=zone(tz))


def _option(f: Filter, default: str | None) -> inspect.Parameter:
    """Return the Typer parameter of one filter: its type, option names and help."""
    value: Any = f.python_type
    help_text = f.help
    extra: dict[str, Any] = {}
    if f.kind == "time":
        value = str  # parsed with --tz by parse_when
        help_text += f": {_WHEN}"
    if f.repeats:
        value = list[value]
        help_text += " (repeatable)"
    if f.minimum is not None:
        extra["min"] = f.minimum
    if f.maximum is not None:
        extra["max"] = f.maximum
    option = typer.Option(*f.cli, help=help_text + ".", **extra)
    return inspect.Parameter(
        f.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[value | None, option],
    )


def filters_from(given: Mapping[str, Any], tz: str | None) -> dict[str, Any]:
    """Turn filter option values into the keyword filters of EventStore.query()."""
    zone(tz)  # an unknown --tz is refused even when no date uses it
    found: dict[str, Any] = {}
    for f in FILTERS:
        value = given.get(f.name)
        if f.kind == "time":
            value = parse_when(value, f.cli[0], tz)
        if value is not None and value != []:
            found[f.name] = value
    return found


def filter_options(*, defaults: Mapping[str, str] | None = None) -> Callable[[Command], Command]:
    """Add every filter's option to a Typer command, which then gets them as ``filters``.

    The options go before ``--tz`` (or last); ``defaults`` gives some a default (``since``).
    """

    def decorate(command: Command) -> Command:
        hints = typing.get_type_hints(command, include_extras=True)
        own = [
            p.replace(annotation=hints[p.name], kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(command).parameters.values()
            if p.name != "filters"
        ]
        at = next((i for i, p in enumerate(own) if p.name == "tz"), len(own))
        added = [_option(f, (defaults or {}).get(f.name)) for f in FILTERS]
        params = [*own[:at], *added, *own[at:]]

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            given = {f.name: kwargs.pop(f.name, None) for f in FILTERS}
            return command(**kwargs, filters=filters_from(given, kwargs.get("tz")))

        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return typing.cast(Command, run)

    return decorate
