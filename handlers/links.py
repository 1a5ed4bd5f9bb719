"""Links to the web server's pages, as buttons where the chat can carry them.

Telegram refuses a URL button to an address that is not public (a host without a dot, a
loopback or private address) and then drops the whole message; a Mini App even needs https.
So a link becomes a button only for a public https address; otherwise it is written in the
text, and the secretary is told which setting makes it reachable from a phone.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_public(url: str) -> bool:
    """Whether `url` is an https address on the public internet (what Telegram accepts)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or "." not in host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return not host.endswith((".local", ".localhost", ".internal", ".lan"))
    return address.is_global
