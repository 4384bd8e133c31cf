"""The buffered broker connection: bytes come back whole and in order, however asked for."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from camvault.ingest.mqtt import _BufferedSocket


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
