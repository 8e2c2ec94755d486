"""Outbound safety for merchant webhook URLs: https only, and never an internal address.

Checked when a URL is configured and again at each delivery (the name may resolve elsewhere by
then: DNS rebinding); the delivery then connects to the address that was checked.
`ALLOW_PRIVATE_WEBHOOK_TARGETS=true` (development, tests) allows http and private targets.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

METADATA_HOSTS = {"metadata.google.internal", "metadata"}


def _forbidden(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return bool(
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_reserved
        or addr.is_multicast
        or addr.is_unspecified
        or (isinstance(addr, ipaddress.IPv4Address) and addr in ipaddress.ip_network("100.64.0.0/10"))
    )


async def check_webhook_url(url: str, *, allow_private: bool) -> list[str]:
    """Validate `url`; return the addresses it resolves to. ValueError says what is wrong."""
    if len(url) > 2048:
        raise ValueError("webhook URL is longer than 2048 characters")
    parts = urlsplit(url)
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        raise ValueError("webhook URL must use https")
    host = parts.hostname
    if not host:
        raise ValueError("webhook URL has no host")
    if parts.username or parts.password:
        raise ValueError("webhook URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError("webhook URL has an invalid port") from None
    if host.lower() in METADATA_HOSTS and not allow_private:
        raise ValueError("webhook URL points at a metadata service")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ValueError(f"webhook host {host!r} does not resolve") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not allow_private:
        for text in addresses:
            if _forbidden(ipaddress.ip_address(text)):
                raise ValueError("webhook URL resolves to a loopback, private, link-local or metadata address")
    return addresses
