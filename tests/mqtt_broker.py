"""MQTT helpers for the ingest tests: the shared broker, publishing, a private broker.

The shared broker comes from CAMVAULT_TEST_MQTT_URL; a test that must stop and restart a
broker starts its own ``mosquitto -p <port>`` through the ``private_broker`` fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import pytest

from camvault.ingest import parse_mqtt_url

MQTT_URL = os.environ.get("CAMVAULT_TEST_MQTT_URL", "")
"""The shared test broker, or an empty string (its tests skip)."""
DEADLINE = 20.0
"""Longest wait for any condition."""


async def until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Wait until ``condition()`` holds, failing with ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def forget_session(url: str, client_id: str) -> None:
    """Connect once with a clean session so the broker forgets what it kept for ``client_id``."""
    target = parse_mqtt_url(url)
    with contextlib.suppress(aiomqtt.MqttError):
        async with aiomqtt.Client(
            target.host,
            target.port,
            identifier=client_id,
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=True,
        ):
            pass


@contextlib.asynccontextmanager
async def publisher(url: str = MQTT_URL) -> AsyncIterator[aiomqtt.Client]:
    """Connect a publishing client."""
    target = parse_mqtt_url(url)
    async with aiomqtt.Client(target.host, target.port, max_inflight_messages=100) as client:
        yield client


async def publish(client: aiomqtt.Client, topic: str, payload: Any, qos: int = 1) -> None:
    """Publish ``payload`` (JSON unless bytes); at QoS 1 returns once the broker has it."""
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    await client.publish(topic, body, qos=qos)


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """Tell whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateBroker:
    """A mosquitto child process on its own port, to be killed and started again."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.url = f"mqtt://127.0.0.1:{port}"
        self.config = folder / "mosquitto.conf"
        self.config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start mosquitto and wait until it accepts connections."""
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [mosquitto, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await until(lambda: listening(self.port), "the private broker to listen")

    def kill(self) -> None:
        """Kill mosquitto (no goodbye to its clients) and wait for it to exit."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=DEADLINE)
            self.proc = None


@pytest.fixture(name="private_broker")
def private_broker_fixture(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A private broker (not yet started); killed when the test ends."""
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("mosquitto is not installed")
    broker = PrivateBroker(free_port(), tmp_path)
    yield broker
    broker.kill()
