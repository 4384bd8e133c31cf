"""The buffered broker connection: bytes come back whole and in order, however asked for."""

from __future__ import annotations

import os
import random
import resource
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from camvault.ingest.mqtt import _BufferedSocket, _ReadAhead


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected pair of non-blocking sockets: (broker side, client side)."""
    broker, client = socket.socketpair()
    client.setblocking(False)
    yield broker, client
    broker.close()
    client.close()


def test_small_reads_are_served_from_one_read_of_the_connection(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    broker, client = pair
    buffered = _BufferedSocket(client)
    packets = [b"\x30\x05hello", b"\x30\x03abc", b"\x40\x02\x00\x01"]
    broker.sendall(b"".join(packets))
    got = b""
    first = buffered.recv(1)  # one system call takes everything sent so far
    assert first == b"\x30"
    assert buffered.pending() == len(b"".join(packets)) - 1
    got = first
    while buffered.pending():
        got += buffered.recv(3)
    assert got == b"".join(packets)
    with pytest.raises(BlockingIOError):  # nothing more: as a non-blocking socket says
        buffered.recv(1)
    broker.sendall(b"more")
    assert buffered.recv(10) == b"more"
    assert buffered.fileno() == client.fileno()  # everything else is the socket's own


def test_the_end_of_the_connection_reads_empty(pair: tuple[socket.socket, socket.socket]) -> None:
    broker, client = pair
    buffered = _BufferedSocket(client)
    broker.sendall(b"xy")
    broker.shutdown(socket.SHUT_WR)
    assert buffered.recv(5) == b"xy"
    assert buffered.recv(5) == b""


def _drain(ahead: _ReadAhead, want: int, deadline: float) -> bytes:
    """Read ``want`` bytes from ``ahead`` as paho would (non-blocking), within the deadline."""
    got = bytearray()
    while len(got) < want:
        assert time.monotonic() < deadline, f"only {len(got)} of {want} bytes came"
        try:
            got += ahead.recv(4096)
        except BlockingIOError:
            time.sleep(0.001)
    return bytes(got)


def test_read_ahead_drains_the_connection_while_nobody_parses(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    broker, client = pair
    woken = threading.Event()
    ahead = _ReadAhead(client, woken.set)
    data = random.Random(7).randbytes(4 * 1024 * 1024)  # far more than the socket buffers
    sender = threading.Thread(target=broker.sendall, args=(data,))
    sender.start()
    sender.join(30)  # nobody calls recv meanwhile: only the reading thread empties the socket
    assert not sender.is_alive(), "the broker side could not send: nobody read"
    # one recv() can take the whole send while it is under way: the wake-up follows that read
    assert woken.wait(10)
    assert _drain(ahead, len(data), time.monotonic() + 30) == data
    broker.close()
    deadline = time.monotonic() + 10
    while not ahead.pending():  # the end of the connection is noticed, then read as empty
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert ahead.recv(10) == b""
    ahead.close()


def test_read_ahead_stops_at_its_bound_and_goes_on_when_read(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("camvault.ingest.mqtt.READ_AHEAD_BYTES", 256 * 1024)
    monkeypatch.setattr("camvault.ingest.mqtt.READ_AHEAD_SIZE", 64 * 1024)
    broker, client = pair
    ahead = _ReadAhead(client, lambda: None)
    data = random.Random(8).randbytes(4 * 1024 * 1024)
    sender = threading.Thread(target=broker.sendall, args=(data,))
    sender.start()
    deadline = time.monotonic() + 30
    while ahead.pending() < 256 * 1024:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    # one read may cross the bound, never two
    assert ahead.pending() <= (256 + 64) * 1024
    assert _drain(ahead, len(data), time.monotonic() + 30) == data
    sender.join(30)
    assert not sender.is_alive()
    ahead.close()
    broker.close()


def test_read_ahead_works_on_a_descriptor_above_1023() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.fail(f"this test needs 2,048 open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    broker, client = socket.socketpair()
    try:
        high = socket.socket(fileno=os.dup2(client.fileno(), 1500))  # as in a busy server
        high.setblocking(False)
        ahead = _ReadAhead(high, lambda: None)
        broker.sendall(b"\x30\x05hello")
        assert _drain(ahead, 7, time.monotonic() + 10) == b"\x30\x05hello"
        ahead.close()
    finally:
        broker.close()
        client.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
