"""The node's request-body buffer (nodes/http_server.py): whatever the read sizes, the app
gets exactly the body, and the buffer never runs far ahead of the bytes that arrived."""

from __future__ import annotations

import os
import random

import pytest

from nodes.http_server import FIRST_CAPACITY, GrowingBody


@pytest.mark.parametrize("length", [1, 4096, FIRST_CAPACITY, FIRST_CAPACITY + 1, 5_000_001])
def test_body_arriving_in_uneven_reads_reaches_the_app_whole(length: int) -> None:
    data = os.urandom(length)
    body = GrowingBody(length)
    reads = random.Random(length)
    received = 0
    while received < length:
        size = reads.randint(1, 300_000)
        body.append(data[received : received + size])
        received = min(length, received + size)
        assert len(body) == received
    stream = body.getfile()
    assert stream.tell() == 0
    assert stream.getvalue() == data
    assert stream.read() == data


def test_an_announced_body_costs_memory_only_as_its_bytes_arrive() -> None:
    announced = 64 << 20
    body = GrowingBody(announced)
    assert len(body.getfile().getbuffer()) == FIRST_CAPACITY  # not 64 MiB up front
    sent = 0
    for _ in range(12):
        body.append(b"x" * 200_000)
        sent += 200_000
        held = len(body.getfile().getbuffer())
        assert held <= max(FIRST_CAPACITY, 2 * sent)
