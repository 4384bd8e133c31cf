"""The PostgreSQL benchmark's pure helpers: which server it uses, schema URLs, month bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from benchmarks.pg_common import libpq_url, months, next_month, server_url, us, with_schema

BASE = "postgresql://postgres@127.0.0.1:5432/test"


def test_bench_url_wins_over_test_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMVAULT_BENCH_POSTGRES_URL", "postgresql://bench@h/b")
    monkeypatch.setenv("CAMVAULT_TEST_POSTGRES_URL", "postgresql://test@h/t")
    assert server_url() == ("postgresql://bench@h/b", "CAMVAULT_BENCH_POSTGRES_URL")


def test_test_url_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMVAULT_BENCH_POSTGRES_URL", "  ")
    monkeypatch.setenv("CAMVAULT_TEST_POSTGRES_URL", "postgresql://test@h/t")
    assert server_url() == ("postgresql://test@h/t", "CAMVAULT_TEST_POSTGRES_URL")


def test_no_url_says_which_variables_were_looked_at(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMVAULT_BENCH_POSTGRES_URL", raising=False)
    monkeypatch.delenv("CAMVAULT_TEST_POSTGRES_URL", raising=False)
    url, reason = server_url()
    assert url is None
    assert "CAMVAULT_BENCH_POSTGRES_URL" in reason
    assert "CAMVAULT_TEST_POSTGRES_URL" in reason


def test_schema_option_is_set_replaced_and_stripped() -> None:
    assert with_schema(BASE, "s1") == f"{BASE}?schema=s1"
    again = with_schema(f"{BASE}?sslmode=disable&schema=old", "s2")
    assert again == f"{BASE}?sslmode=disable&schema=s2"
    assert libpq_url(again) == f"{BASE}?sslmode=disable"
    assert libpq_url(f"{BASE}?schema=s1") == BASE


def test_month_bounds_roll_over_the_year() -> None:
    assert next_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    assert next_month(datetime(2026, 1, 15, tzinfo=UTC)) == datetime(2026, 2, 1, tzinfo=UTC)


def test_months_are_distinct_utc_month_starts() -> None:
    # 00:30 on 1 March at UTC+2 is still February in UTC
    early_march = datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    times = [datetime(2026, 2, 10, tzinfo=UTC), early_march, datetime(2026, 3, 5, tzinfo=UTC)]
    assert months(times) == [datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)]


def test_timestamps_are_epoch_microseconds() -> None:
    # 2026-01-01T00:00:00Z = 1767225600 s since the epoch
    assert us(datetime(2026, 1, 1, tzinfo=UTC)) == 1_767_225_600_000_000
    assert us(datetime(1970, 1, 1, 0, 0, 0, 7, tzinfo=UTC)) == 7
