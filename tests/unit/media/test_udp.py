"""One builder makes the engine's RTP sockets and the benchmark's generator sockets.

The engine's are unbound (it tries the ports of its range itself), non-blocking, with a
small receive buffer and the kernel's send buffer; the benchmark's are bound to any free
loopback port with big buffers both ways. Linux reports twice the size asked for
(socket(7)), which the checks below take into account.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from callcenter.bench import media as bench_media
from callcenter.media import engine
from callcenter.media.udp import RTP_BUFFER, udp_socket

HOST = "127.0.0.1"


def _buffers(sock: socket.socket) -> tuple[int, int]:
    return (
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
    )


@pytest.fixture
def plain() -> Iterator[socket.socket]:
    """A socket as the kernel makes it, to compare defaults with."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        yield sock


def test_an_engine_socket_is_unbound_non_blocking_with_a_small_receive_buffer(
    plain: socket.socket,
) -> None:
    """The engine binds the port itself; only the receive buffer is its own."""
    with closing(udp_socket()) as sock:
        assert sock.type == socket.SOCK_DGRAM
        assert sock.family == socket.AF_INET
        assert sock.getblocking() is False
        assert sock.getsockname() == ("0.0.0.0", 0)
        received, sent = _buffers(sock)
        assert received == 2 * RTP_BUFFER
        assert sent == _buffers(plain)[1]


def test_a_benchmark_socket_is_bound_to_a_free_loopback_port_with_both_buffers(
    plain: socket.socket,
) -> None:
    """Asked for both buffers and an address, it gets them, and datagrams arrive."""
    asked = 3 * RTP_BUFFER
    with closing(udp_socket(receive_buffer=asked, send_buffer=asked, bind=(HOST, 0))) as sock:
        host, port = sock.getsockname()
        assert host == HOST
        assert port != 0
        assert sock.getblocking() is False
        assert _buffers(sock) == (2 * asked, 2 * asked)
        assert _buffers(sock)[1] != _buffers(plain)[1]
        plain.sendto(b"rtp", (host, port))
        sock.settimeout(2.0)
        data, source = sock.recvfrom(64)
        assert data == b"rtp"
        assert source == (HOST, plain.getsockname()[1])


def test_a_port_in_use_raises_and_leaves_no_socket_open() -> None:
    """A failed bind is the caller's to handle; the builder closes what it opened."""
    with closing(udp_socket(bind=(HOST, 0))) as taken:
        opened: list[socket.socket] = []
        real = socket.socket

        def recording(*args: int) -> socket.socket:
            sock = real(*args)
            opened.append(sock)
            return sock

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(socket, "socket", recording)
            with pytest.raises(OSError):
                udp_socket(bind=taken.getsockname())
        assert len(opened) == 1
        assert opened[0].fileno() == -1


def test_the_engine_and_the_benchmark_use_the_builder() -> None:
    """The engine's name for it is the builder; the benchmark's asks for its big buffers."""
    assert engine.udp_socket is udp_socket
    with closing(bench_media._udp_socket()) as sock:
        assert sock.getsockname()[0] == HOST
        assert sock.getsockname()[1] != 0
        assert sock.getblocking() is False
        ceiling = int(Path("/proc/sys/net/core/rmem_max").read_text())
        assert _buffers(sock)[0] == 2 * min(bench_media.SOCKET_BUFFER, ceiling)
