"""The one channel between the trusted parent and the sandboxed child: length-prefixed frames on two pipes.

Parent -> child: pickled requests (the child trusts its parent). Child -> parent: replies the parent treats
as hostile bytes: at most MAX_REPLY bytes, decoded with `torch.load(weights_only=True)`, so only tensors,
numbers, strings and containers of them can come back, never an object of an arbitrary class.
"""
import io
import os
import select
import struct
import time

import torch

MAX_REPLY = 256 * 2**20
HEADER = struct.Struct(">Q")


class ChannelClosed(BaseException):
    """The other side is gone (BaseException: a test's `except Exception` must not swallow it)."""


class ChannelTimeout(BaseException):
    """No reply before the deadline."""


class BadReply(BaseException):
    """The child sent something that is not a well-formed reply (BaseException: it ends the exercise)."""


def encode(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def send(fd: int, obj) -> None:
    data = encode(obj)
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        try:
            written = os.write(fd, view)
        except (BrokenPipeError, OSError):
            raise ChannelClosed("the child's end of the channel is closed") from None
        view = view[written:]


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise ChannelTimeout
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChannelClosed("the channel was closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive_trusted(fd: int):
    """Child side: read one request from the parent (full pickle: the parent is trusted)."""
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size, None))
    return torch.load(io.BytesIO(_read_exactly(fd, size, None)), weights_only=False)


def receive_untrusted(fd: int, deadline: float):
    """Parent side: read one reply from the child, as hostile data."""
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if size > MAX_REPLY:
        raise BadReply(f"a reply of {size} bytes (more than {MAX_REPLY >> 20} MB)")
    data = _read_exactly(fd, size, deadline)
    try:
        reply = torch.load(io.BytesIO(data), weights_only=True)
    except Exception as err:
        raise BadReply(f"a reply that is not plain data ({type(err).__name__})") from None
    if not isinstance(reply, dict):
        raise BadReply("a reply that is not a dict")
    return reply


class Ref:
    """In a request: the child's object number `hid` (a handle the child gave out earlier)."""
    def __init__(self, hid: int):
        self.hid = hid
