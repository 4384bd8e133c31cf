"""One-line errors for the command line: usage mistakes and failures, never a box or traceback.

Typer prints a usage error as a usage line, a hint and a framed box. camvault prints one line
on stderr instead (``error: --since: ...``, exit code 2) and keeps Typer's rich ``--help``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

__all__ = ["CliGroup", "err", "fail", "say_error", "usage_message"]

err = Console(stderr=True)


def printable(text: str) -> str:
    """Escape control characters so a value cannot rewrite the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def say_error(message: str) -> None:
    """Print ``error: message`` as one line on stderr."""
    err.print(f"[bold red]error:[/] {escape(printable(message))}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``code``."""
    say_error(message)
    raise typer.Exit(code)


def _option_name(param: Any) -> str:
    """Name a parameter the way a user typed it: ``--camera`` rather than ``-c``, ``DEST``."""
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    if getattr(param, "param_type_name", "") == "option" and (opts or param.opts):
        return str((opts or param.opts)[0])
    return str(getattr(param, "human_readable_name", "") or getattr(param, "name", "")).upper()


def _hint(exc: Any) -> str:
    """Return the option or argument a BadParameter is about, or an empty string."""
    hint: str | Sequence[str] | None = getattr(exc, "param_hint", None)
    if isinstance(hint, str):
        return hint
    if hint:
        return " / ".join(hint)
    param = getattr(exc, "param", None)
    return _option_name(param) if param is not None else ""


def _sentence(text: str) -> str:
    """Lower-case the first letter and drop the final full stop: a clause for one line."""
    text = " ".join(str(text).split()).rstrip(".")
    return text[:1].lower() + text[1:]


def usage_message(exc: Exception) -> str:
    """Turn a click usage error (Typer's or click's own) into one line without ``error:``."""
    kind = type(exc).__name__
    if kind == "NoSuchOption":
        message = f"no such option {getattr(exc, 'option_name', '?')}"
        possible = sorted(getattr(exc, "possibilities", None) or ())
        return message + (f" (did you mean {' or '.join(possible)}?)" if possible else "")
    if kind == "MissingParameter":
        param = getattr(exc, "param", None)
        what = getattr(param, "param_type_name", "parameter")
        name = _option_name(param) if param is not None else "a value"
        return f"missing {what} {name}"
    message = _sentence(getattr(exc, "message", "") or str(exc))
    if hasattr(exc, "param_hint") and (hint := _hint(exc)):
        return f"{hint}: {message}"
    return message


def _is_click_error(exc: BaseException) -> bool:
    """Tell click's exceptions (vendored in Typer or not) apart: they carry an exit code."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


class CliGroup(TyperGroup):
    """The ``camvault`` command group: usage errors become one line on stderr, exit code 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; in standalone mode print usage errors as one line and exit."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except typer.Abort:
            err.print("aborted", highlight=False)
            sys.exit(1)
        except Exception as exc:
            if not _is_click_error(exc):
                raise
            code: int = getattr(exc, "exit_code", 1)
            if type(exc).__name__ == "NoArgsIsHelpError":
                sys.exit(code)  # Typer has already printed the help
            text = usage_message(exc) if code == 2 else _sentence(exc.format_message())  # type: ignore[attr-defined]
            say_error(text)  # not fail(): its typer.Exit would escape click's handling here
            sys.exit(code)
        sys.exit(result if isinstance(result, int) else 0)
