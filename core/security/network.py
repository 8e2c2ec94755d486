"""Client addresses: the whitelist check and X-Forwarded-For behind trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from core.security.text import has_control_characters

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_whitelist(entries: Iterable[str]) -> list[str]:
    """Normalise whitelist entries (addresses or CIDRs); ValueError names the bad entry."""
    out = []
    for entry in entries:
        text = str(entry).strip(" ")
        if has_control_characters(text):
            raise ValueError(f"{text!r} contains control characters")
        try:
            out.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise ValueError(f"{text!r} is not an IPv4/IPv6 address or CIDR") from None
    return out


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return addr.ipv4_mapped
    return addr


def ip_allowed(client_ip: str, allowed: Sequence[Network]) -> bool:
    addr = _address(client_ip)
    return addr is not None and any(addr in net for net in allowed if addr.version == net.version)


def client_ip(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The socket peer, or, when the peer is a trusted proxy, the right-most untrusted address
    of X-Forwarded-For (addresses left of it could have been written by the client)."""
    if not forwarded_for or not ip_allowed(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if _address(hop) is None:
            return peer  # a garbled header is not believed
        if not ip_allowed(hop, trusted):
            return hop
    return peer
