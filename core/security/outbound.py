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

from core.security.text import has_control_characters

METADATA_HOSTS = {"metadata.google.internal", "metadata"}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_v4 = ipaddress.IPv4Network
_v6 = ipaddress.IPv6Network
# IANA special-purpose registries, every block not "globally reachable" (plus multicast and the
# reserved 240/4, broadcast included). Written out instead of trusting `is_global`: Python before 3.12.4 calls
# fec0::1, ::127.0.0.1, ff02::1 and 64:ff9b:1::1 global.
_NOT_GLOBAL_V4 = tuple(
    _v4(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip
_GLOBAL_UNICAST_V6 = _v6("2000::/3")  # everything outside it (fc00::/7, fe80::/10, fec0::/10, ff00::/8, ::/8...) is not
_NOT_GLOBAL_V6 = tuple(
    _v6(n)
    for n in (
        "2001::/23",  # IETF protocol assignments, Teredo 2001::/32 among them
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_NAT64 = _v6("64:ff9b::/96")  # well-known NAT64 prefix: the last 32 bits are the IPv4 target
_SIXTOFOUR = _v6("2002::/16")


def is_global_address(addr: Address) -> bool:
    """True when `addr`, and any IPv4 address embedded in it, is globally routable.

    An IPv6 address can carry an IPv4 target the network will reach: IPv4-mapped (::ffff:a.b.c.d),
    NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:aabb:ccdd::) and Teredo (2001:0::, server and client).
    Each of those is judged by the IPv4 address inside it, so 2002:7f00:1:: is 127.0.0.1.
    """
    if isinstance(addr, ipaddress.IPv4Address):
        return not any(addr in net for net in _NOT_GLOBAL_V4)
    embedded: list[ipaddress.IPv4Address] = []
    if addr.ipv4_mapped is not None:
        embedded.append(addr.ipv4_mapped)
    if addr in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    if addr.sixtofour is not None:
        embedded.append(addr.sixtofour)
    if addr.teredo is not None:
        embedded.extend(addr.teredo)
    if embedded:
        if not all(is_global_address(v4) for v4 in embedded):
            return False
        if addr.ipv4_mapped is not None or addr in _NAT64 or addr.sixtofour is not None:
            return True  # routed to its (global) IPv4 target
    return addr in _GLOBAL_UNICAST_V6 and not any(addr in net for net in _NOT_GLOBAL_V6)


async def check_webhook_url(url: str, *, allow_private: bool) -> list[str]:
    """Validate `url`; return the addresses it resolves to. ValueError says what is wrong."""
    if len(url) > 2048:
        raise ValueError("webhook URL is longer than 2048 characters")
    if has_control_characters(url) or any(ch.isspace() for ch in url):
        # urlsplit silently drops tabs and newlines: the URL checked would not be the URL stored.
        raise ValueError("webhook URL must not contain spaces or control characters")
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
            if not is_global_address(ipaddress.ip_address(text.split("%", 1)[0])):
                raise ValueError("webhook URL resolves to an address that is not globally routable")
    return addresses
