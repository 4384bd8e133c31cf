"""An empty or blank token is a configuration error, never a server without security."""

from __future__ import annotations

from pathlib import Path

import pytest

from camvault import AsyncEventStore, InvalidInputError
from camvault.web import create_app
from camvault.web.security import require_safe_bind


@pytest.mark.parametrize("token", ["", " ", "\t\n"])
def test_create_app_refuses_an_empty_token(tmp_path: Path, token: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        create_app(AsyncEventStore(tmp_path / "events.db"), token=token)
    assert err.value.fields == ["token"]
    assert "must not be empty" in str(err.value)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "127.0.0.1"])
@pytest.mark.parametrize("token", ["", "   "])
def test_an_empty_token_never_allows_a_bind(host: str, token: str) -> None:
    with pytest.raises(ValueError, match="token: must not be empty"):
        require_safe_bind(host, token)


def test_a_token_with_surrounding_blanks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="whitespace"):
        create_app(AsyncEventStore(tmp_path / "events.db"), token=" s3cret ")
