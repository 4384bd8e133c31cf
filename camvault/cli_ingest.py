"""``camvault ingest``: feed a store from live sources (``camvault ingest mqtt``)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from camvault.cli_errors import err, fail
from camvault.errors import CamvaultError, InvalidInputError
from camvault.ingest.mqtt import (
    IngestStats,
    check_topics,
    consume_mqtt,
    default_client_id,
    parse_mqtt_url,
)

__all__ = ["ingest_app"]

ingest_app = typer.Typer(
    help="Store events from live sources as they are published.",
    no_args_is_help=True,
)

_HELP = (
    "Store the camvault events (JSON, one or a list per message) published on MQTT topics.\n\n"
    "Subscribes at QoS 1 with a persistent session (a fixed --client-id), so messages the "
    "broker kept while camvault was stopped arrive on restart. Bad payloads are logged and "
    "skipped. If the broker is unreachable, at start or later, camvault waits for it: it "
    "retries with backoff up to 30 s and logs one line when the outage starts and one when "
    "it ends. Ctrl+C stops and prints the counters."
)


class _NoDuplicateLines(logging.Filter):
    """Drop the store's line per duplicate: redelivery after a restart is expected and counted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the duplicate-event warning."""
        return not str(record.msg).startswith("duplicate event_id")


async def _run(db: str, url: str, topics: list[str], client_id: str, stats: IngestStats) -> None:
    """Consume until SIGINT or SIGTERM, then finish the inserts under way."""
    from camvault.aio import AsyncEventStore

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # inserts wait for their group commit under a burst: warn about real stalls only
    async with AsyncEventStore(db, create=True, slow_insert_ms=1000.0) as store:
        await consume_mqtt(store, url, topics, client_id=client_id, stop=stop, stats=stats)


@ingest_app.command("mqtt", help=_HELP)
def mqtt(
    broker: Annotated[
        str,
        typer.Option(
            "--mqtt",
            envvar="CAMVAULT_MQTT",
            help="Broker URL: mqtt://host:1883, mqtt://user:password@host:port, mqtts:// for TLS.",
        ),
    ] = "mqtt://127.0.0.1:1883",
    topic: Annotated[
        list[str],
        typer.Option(
            "--topic",
            metavar="TOPIC",
            help="Topic to subscribe to (wildcards + and # allowed); repeat for more.",
        ),
    ] = ["cameras/+/events"],  # noqa: B006 - typer reads the default, never mutates it
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="Persistent session id; keep it fixed across restarts (default camvault-HOST).",
        ),
    ] = None,
    db: Annotated[
        str,
        typer.Option("--db", envvar="CAMVAULT_DB", help="Database file or URL."),
    ] = "camvault.db",
) -> None:
    """Store the camvault events (JSON, one or a list per message) published on MQTT topics."""
    try:
        parse_mqtt_url(broker)
    except InvalidInputError as exc:
        raise typer.BadParameter(exc.problems[0][1], param_hint="--mqtt") from None
    try:
        check_topics(topic)
    except InvalidInputError as exc:
        raise typer.BadParameter(exc.problems[0][1], param_hint="--topic") from None
    logging.getLogger("camvault.ingest").setLevel(logging.INFO)
    logging.getLogger("camvault").addFilter(_NoDuplicateLines())
    identifier = client_id or default_client_id()
    err.print(
        f"storing the events published on {', '.join(topic)} at {parse_mqtt_url(broker)} "
        f"(client id {identifier}; Ctrl+C stops)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    stats = IngestStats()
    try:
        asyncio.run(_run(db, broker, list(topic), identifier, stats))
    except CamvaultError as exc:
        err.print(stats.summary(), markup=False, highlight=False, soft_wrap=True)
        fail(str(exc))
    err.print(f"stopped: {stats.summary()}", markup=False, highlight=False, soft_wrap=True)
