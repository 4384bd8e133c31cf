"""Stopping `camvault ingest mqtt`: what was acknowledged is stored, the rest comes next run.

A child process consumes from the shared Mosquitto (its own topic and client id) and gets
SIGTERM or SIGINT while messages wait in it unhandled. It must exit 0 having stored every
message it acknowledged, whole; the broker redelivers the others to the next run of the same
client id, and nothing it acknowledged comes again. Checked by plain SQL on the SQLite file.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.test_ingest_mqtt import (
    cli_consumer,
    event_payload,
    names,  # noqa: F401 - the names fixture
    stored_count,
    stored_ids,
)
from tests.mqtt_broker import DEADLINE, MQTT_URL, publish, publisher, until

pytestmark = pytest.mark.skipif(not MQTT_URL, reason="CAMVAULT_TEST_MQTT_URL is not set")

SUMMARY = re.compile(
    r"stopped: received (\d+) messages: stored (\d+) events, (\d+) duplicates, 0 invalid"
)


def summary(log: Path) -> tuple[int, int, int]:
    """Return (received, stored, duplicates) from the last line a run printed."""
    text = log.read_text()
    assert "Traceback" not in text
    last = text.strip().splitlines()[-1]
    found = SUMMARY.fullmatch(last)
    assert found, last
    received, stored, duplicates = (int(g) for g in found.groups())
    return received, stored, duplicates


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_stores_what_was_acknowledged_and_the_rest_is_redelivered(
    stop: signal.Signals,
    tmp_path: Path,
    names: tuple[str, str],  # noqa: F811 - the fixture imported above
) -> None:
    prefix, client_id = names
    topic, db = f"{prefix}/+/events", tmp_path / "events.db"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    # Mosquitto keeps 1,000 messages for a client (max_queued_messages): stay below
    messages, per = 400, 20
    total = messages * per

    def message(i: int) -> list[dict[str, object]]:
        return [event_payload(prefix, i * per + k) for k in range(per)]

    with cli_consumer(db, topic, client_id, first_log) as proc:
        await until(lambda: "subscribed" in first_log.read_text(), "the command to subscribe")
        async with publisher() as pub:  # each publish returns once the broker has it
            await asyncio.gather(
                *(publish(pub, f"{prefix}/porch/events", message(i)) for i in range(messages))
            )
        await until(lambda: stored_count(db) > 0, "the first commit")
        proc.send_signal(stop)
        assert proc.wait(timeout=DEADLINE) == 0
    received, stored, duplicates = summary(first_log)
    first = stored_ids(db)
    assert stored == len(first) and duplicates == 0  # what it says it stored is in the file
    assert 0 < len(first) < total, "the stop came when nothing was left queued"
    whole = Counter(int(event_id.rsplit("-", 1)[1]) // per for event_id in first)
    assert set(whole.values()) == {per}  # every message it handled, stored whole
    assert received == len(whole)

    with cli_consumer(db, topic, client_id, second_log) as proc:
        await until(lambda: stored_count(db) == total, f"all {total} events", 60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
    again_received, again_stored, again_duplicates = summary(second_log)
    # the rest came again, and nothing acknowledged before did
    assert again_stored == total - len(first)
    assert again_duplicates == 0
    assert again_received == messages - received
    assert stored_ids(db) == sorted(f"{prefix}-{n}" for n in range(total))
