"""QR code images of a text (a deep link), as PNG bytes or an SVG document."""

from __future__ import annotations

import io

import segno

# Big modules and the standard quiet zone: scannable from a phone held at arm's length.
SCALE = 10
BORDER = 4


def _code(text: str) -> segno.QRCode:
    # Medium error correction survives a glare spot on a projected or printed code.
    return segno.make(text, error="m", micro=False)


def png(text: str) -> bytes:
    """A PNG of the QR code for `text`."""
    buffer = io.BytesIO()
    _code(text).save(buffer, kind="png", scale=SCALE, border=BORDER)
    return buffer.getvalue()


def svg(text: str) -> str:
    """A scalable SVG document (a viewBox, no fixed size) of the QR code for `text`."""
    buffer = io.BytesIO()
    _code(text).save(buffer, kind="svg", border=BORDER, omitsize=True, xmldecl=False,
                     svgclass="qr", lineclass=None, dark="#000", light="#fff")
    return buffer.getvalue().decode()
