"""The UDP sockets that carry RTP: one builder for the engine and the benchmark.

Both want a non-blocking IPv4 datagram socket with a chosen kernel buffer; they differ
on purpose in the rest. The engine's endpoints hold one stream each, so a small receive
buffer (:data:`RTP_BUFFER`) is enough; a bigger one would only deliver stale audio
after a stall (and cost memory times thousands). The engine binds the socket itself,
trying ports of its range in turn. The benchmark's generators put fifty calls on one
socket and send in bursts, so they ask for big receive *and* send buffers and an
ephemeral port on the loopback address.

A buffer size is a request: Linux doubles it for its own bookkeeping and caps it at
``net.core.rmem_max`` / ``wmem_max`` (socket(7)), and a platform that refuses it leaves
the default in place.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Final

RTP_BUFFER: Final = 64 * 1024  # one stream: the default is seconds of it already


def udp_socket(
    *,
    receive_buffer: int = RTP_BUFFER,
    send_buffer: int | None = None,
    bind: tuple[str, int] | None = None,
) -> socket.socket:
    """A non-blocking UDP socket with ``receive_buffer`` bytes of receive buffer, and
    ``send_buffer`` bytes of send buffer when given (the kernel's default otherwise);
    bound to ``bind`` when given (port 0: any free one), unbound otherwise."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if send_buffer is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        if bind is not None:
            sock.bind(bind)
    except BaseException:
        sock.close()
        raise
    return sock
