"""Bounded decoding of a response body: the size limit holds on the decoded bytes.

The transport reads bodies with aiohttp's own decompression switched off and inflates
them here, a slice at a time, so ``max_body_bytes`` counts what the body becomes, not
what crossed the wire: a small gzip answer that would inflate to gigabytes is refused
once the limit is passed, with at most the limit (plus one slice) in memory. Doing it
here rather than relying on aiohttp's decompression makes the bound the same on every
aiohttp version and whatever the framing (``Content-Length``, chunked, or none): aiohttp
before 3.13.3 inflates each network chunk whole as it arrives (a 64 KiB chunk of a gzip
bomb becomes 64 MiB before anyone can count it), and later versions bound each step
(``max_decompress_size``) but still hand ``read()`` the whole inflated body.

Pure: no I/O, so every encoding and every malformed stream is tested byte for byte.
"""

from __future__ import annotations

import zlib
from typing import Final

__all__ = ["ACCEPT_ENCODING", "BodyTooLarge", "BodyUndecodable", "Inflater", "wire_limit"]

#: What the client asks for; anything else a server sends is refused, not guessed at.
ACCEPT_ENCODING: Final = "gzip, deflate"

#: Most output one :meth:`Inflater.step` produces, so the loop can breathe in between.
STEP_BYTES: Final = 256 * 1024

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS


class BodyTooLarge(Exception):
    """The body (decoded, or on the wire) passed the limit."""


class BodyUndecodable(Exception):
    """The body's encoding is not one the client asked for, or its stream is broken."""


def wire_limit(limit: int) -> int:
    """Most compressed bytes accepted for a decoded limit of ``limit``.

    Deflate's worst case adds a few bytes per 16 KiB block; anything beyond that is a
    stream spending bytes on producing nothing (empty blocks), which is refused too.
    """
    return limit + (limit >> 10) + 1024


class Inflater:
    """Inflates one gzip or deflate body into at most ``limit`` bytes.

    ``feed`` hands over wire bytes; ``step`` inflates at most :data:`STEP_BYTES` of them
    and says whether input is left; ``finish`` checks the stream ended and returns the body.
    """

    __slots__ = ("_decoder", "_encoding", "_limit", "_out", "_pending", "_started")

    def __init__(self, encoding: str, limit: int) -> None:
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise BodyUndecodable(f"it is encoded as {encoding!r}, which was not asked for")
        self._encoding = "deflate" if encoding == "deflate" else "gzip"
        self._limit = limit
        self._out = bytearray()
        self._pending = b""
        self._started = False
        self._decoder = zlib.decompressobj(_GZIP_WBITS)

    def feed(self, data: bytes) -> None:
        if data:
            self._pending = self._pending + data if self._pending else data

    def _choose_deflate(self) -> None:
        # RFC 9110 says zlib-wrapped; some servers send raw deflate. A zlib header's low
        # nibble is 8 (the deflate method) and its first two bytes are a multiple of 31.
        head = self._pending
        wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and ((head[0] << 8) | head[1]) % 31 == 0
        self._decoder = zlib.decompressobj(_ZLIB_WBITS if wrapped else _RAW_DEFLATE_WBITS)
        self._started = True

    def step(self, *, final: bool = False) -> bool:
        """Inflate one slice; True while fed input is left. Raises past the limit."""
        if not self._pending:
            return False
        if not self._started:
            if self._encoding == "deflate" and len(self._pending) < 2 and not final:
                return False  # the header decides the format: wait for its second byte
            if self._encoding == "deflate":
                self._choose_deflate()
            self._started = True
        decoder = self._decoder
        if decoder.eof:
            if not self._pending.strip(b"\x00"):
                self._pending = b""  # padding after the last gzip member, as gzip tolerates
                return False
            self._next_member()
            decoder = self._decoder
        room = min(STEP_BYTES, self._limit + 1 - len(self._out))
        try:
            chunk = decoder.decompress(self._pending, room)
        except zlib.error:
            raise BodyUndecodable(f"its {self._encoding} stream is corrupt") from None
        self._out += chunk
        if len(self._out) > self._limit:
            raise BodyTooLarge
        self._pending = decoder.unused_data if decoder.eof else decoder.unconsumed_tail
        return bool(self._pending)

    def _next_member(self) -> None:
        # gzip allows several members back to back; deflate has exactly one stream.
        if self._encoding != "gzip":
            raise BodyUndecodable("its deflate stream has data after its end")
        self._decoder = zlib.decompressobj(_GZIP_WBITS)

    def finish(self) -> bytes:
        while self.step(final=True):
            pass
        if self._started and not self._decoder.eof:
            raise BodyUndecodable(f"its {self._encoding} stream is cut off")
        return bytes(self._out)
