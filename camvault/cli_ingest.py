"""``camvault ingest``: feed a store from live sources (``ingest mqtt``, ``ingest frigate``)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from camvault.cli_errors import err, fail
from camvault.cli_store import DbOption
from camvault.errors import CamvaultError, InvalidInputError
from camvault.ingest.frigate import FrigateStats, consume_frigate, frigate_topics
from camvault.ingest.frigate_http import check_frigate_url
from camvault.ingest.mqtt import (
    IngestStats,
    check_topics,
    consume_mqtt,
    default_client_id,
    parse_mqtt_url,
)
from camvault.runtime import settle_heap

if TYPE_CHECKING:
    from camvault.aio import AsyncEventStore
    from camvault.web.app import Background

__all__ = [
    "check_broker",
    "check_frigate",
    "check_prefix",
    "frigate_background",
    "ingest_app",
]

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
    "it ends. Ctrl+C or SIGTERM stops: messages being stored are finished and acknowledged, "
    "the rest stay with the broker for the next run; then the counters are printed."
)


class _NoDuplicateLines(logging.Filter):
    """Drop the store's line per duplicate: redelivery after a restart is expected and counted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the duplicate-event warning."""
        return not str(record.msg).startswith("duplicate event_id")


def _stop_on_signals() -> asyncio.Event:
    """Return an event set by SIGINT (Ctrl+C) or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _run(db: str, url: str, topics: list[str], client_id: str, stats: IngestStats) -> None:
    """Consume until SIGINT or SIGTERM, then finish the inserts under way."""
    from camvault.aio import AsyncEventStore

    stop = _stop_on_signals()
    # inserts wait for their group commit under a burst: warn about real stalls only
    async with AsyncEventStore(db, create=True, slow_insert_ms=1000.0) as store:
        await consume_mqtt(store, url, topics, client_id=client_id, stop=stop, stats=stats)


def _say(text: str) -> None:
    """Print one plain line on stderr."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def _usage(check: Callable[[str], object], value: str, option: str) -> None:
    """Run ``check`` on an option's value; its InvalidInputError becomes one usage line."""
    try:
        check(value)
    except InvalidInputError as exc:
        raise typer.BadParameter(exc.problems[0][1], param_hint=option) from None


def check_broker(url: str, option: str) -> None:
    """Refuse a bad broker URL as one usage line naming ``option``."""
    _usage(parse_mqtt_url, url, option)


def check_frigate(url: str | None, option: str) -> None:
    """Refuse a bad Frigate URL as one usage line naming ``option``."""
    if url is not None:
        _usage(check_frigate_url, url, option)


BrokerOption = Annotated[
    str,
    typer.Option(
        "--mqtt",
        envvar="CAMVAULT_MQTT",
        help="Broker URL: mqtt://host:1883, mqtt://user:password@host:port, mqtts:// for TLS.",
    ),
]


@ingest_app.command("mqtt", help=_HELP)
def mqtt(
    broker: BrokerOption = "mqtt://127.0.0.1:1883",
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
    db: DbOption = "camvault.db",
) -> None:
    """Store the camvault events (JSON, one or a list per message) published on MQTT topics."""
    check_broker(broker, "--mqtt")
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
    settle_heap()
    try:
        asyncio.run(_run(db, broker, list(topic), identifier, stats))
    except CamvaultError as exc:
        err.print(stats.summary(), markup=False, highlight=False, soft_wrap=True)
        fail(str(exc))
    err.print(f"stopped: {stats.summary()}", markup=False, highlight=False, soft_wrap=True)


_FRIGATE_HELP = (
    "Store what a running Frigate publishes: one tracked object is one event with its id.\n\n"
    "Subscribes to <prefix>/events, <prefix>/tracked_object_update and <prefix>/reviews at "
    "QoS 1 with a persistent session (a fixed --client-id). With --frigate, boxes are made "
    "relative to each camera's detect size, snapshots become thumbnails (retried until "
    "Frigate answers, also after a restart), and every (re)connection re-syncs from "
    "Frigate's /api/events what MQTT did not bring. The broker or Frigate being away is "
    "retried with backoff and logged once per outage. Ctrl+C or SIGTERM stops and prints "
    "the counters."
)


async def _run_frigate(
    db: str,
    *,
    broker: str,
    frigate: str | None,
    prefix: str,
    client_id: str,
    stats: FrigateStats,
) -> None:
    """Consume Frigate's messages until SIGINT or SIGTERM."""
    from camvault.aio import AsyncEventStore

    stop = _stop_on_signals()
    async with AsyncEventStore(db, create=True, slow_insert_ms=1000.0) as store:
        await consume_frigate(
            store,
            broker,
            frigate,
            topic_prefix=prefix,
            client_id=client_id,
            stop=stop,
            stats=stats,
        )


def check_prefix(prefix: str, option: str) -> None:
    """Refuse a bad Frigate topic prefix as one usage line naming ``option``."""
    _usage(frigate_topics, prefix, option)


@ingest_app.command("frigate", help=_FRIGATE_HELP)
def frigate(
    broker: BrokerOption = "mqtt://127.0.0.1:1883",
    frigate_url: Annotated[
        str | None,
        typer.Option(
            "--frigate",
            envvar="CAMVAULT_FRIGATE",
            help="Frigate's HTTP API, e.g. http://frigate:5000 (snapshots, sizes, re-sync).",
        ),
    ] = None,
    prefix: Annotated[
        str,
        typer.Option("--topic-prefix", help="Frigate's mqtt.topic_prefix."),
    ] = "frigate",
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="Persistent session id; keep it fixed across restarts "
            "(default camvault-frigate-HOST).",
        ),
    ] = None,
    db: DbOption = "camvault.db",
) -> None:
    """Store what a running Frigate publishes: one tracked object is one event with its id."""
    check_broker(broker, "--mqtt")
    check_frigate(frigate_url, "--frigate")
    check_prefix(prefix, "--topic-prefix")
    logging.getLogger("camvault.ingest").setLevel(logging.INFO)
    identifier = client_id or default_client_id("frigate")
    api = f" and {frigate_url}" if frigate_url else " (no --frigate: no snapshots or re-sync)"
    _say(
        f"storing Frigate's events from {parse_mqtt_url(broker)}{api} "
        f"(client id {identifier}; Ctrl+C stops)"
    )
    stats = FrigateStats()
    settle_heap()
    try:
        asyncio.run(
            _run_frigate(
                db,
                broker=broker,
                frigate=frigate_url,
                prefix=prefix,
                client_id=identifier,
                stats=stats,
            )
        )
    except CamvaultError as exc:
        _say(stats.summary())
        fail(str(exc))
    _say(f"stopped: {stats.summary()}")


def frigate_background(
    mqtt: str | None, url: str | None, prefix: str = "frigate", client_id: str | None = None
) -> list[Background]:
    """Return the Frigate consumer for ``serve`` (none without --frigate-mqtt); usage errors."""
    if mqtt is None:
        if url is not None:
            raise typer.BadParameter("needs --frigate-mqtt as well", param_hint="--frigate-url")
        return []
    check_broker(mqtt, "--frigate-mqtt")
    check_frigate(url, "--frigate-url")
    check_prefix(prefix, "--frigate-topic-prefix")
    logging.getLogger("camvault.ingest").setLevel(logging.INFO)

    async def frigate(store: AsyncEventStore, stop: asyncio.Event) -> object:
        return await consume_frigate(
            store, mqtt, url, topic_prefix=prefix, client_id=client_id, stop=stop
        )

    return [frigate]
