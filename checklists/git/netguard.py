"""The address guard: which hosts releasegate's own requests may reach (webhooks and git fetches).

A host may not be this application's own (ALLOWED_HOSTS), a metadata or local name, or an
address that is loopback, private, link-local, metadata, multicast, reserved or otherwise
not global. `check_host` looks only at the name (no DNS: it runs in web requests);
`resolve_checked` resolves it (workers only, at each connection), checks every address and
returns the one to connect to, so that a rebinding DNS server cannot answer differently
between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from django.conf import settings

METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
METADATA_IPS = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("fd00:ec2::254"),
}


NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")


class UnsafeAddress(ValueError):
    """The host may not be contacted; the message says why."""


def _own_host(host: str) -> bool:
    for allowed in settings.ALLOWED_HOSTS:
        allowed = allowed.lower()
        if allowed == "*":
            continue  # a wildcard says nothing about which host is ours
        if allowed.startswith(".") and (host == allowed[1:] or host.endswith(allowed)):
            return True
        if host == allowed:
            return True
    return False


def forbidden_ip(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, private_network_ok: bool = False
) -> str:
    """Why this address may not be contacted ('' if it may).

    `private_network_ok` lets RFC 1918 / ULA addresses through (an on-premises server an
    operator named), never loopback, link-local, metadata, multicast or unspecified ones.
    """
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if ip in METADATA_IPS:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "a reserved address"
    if private_network_ok and ip.is_private:
        return ""
    if ip.is_private or not ip.is_global:
        return "a private or non-global address"
    return ""


def check_host(host: str) -> str:
    """The host name, lower case, if nothing in the name itself forbids it; raise UnsafeAddress."""
    host = (host or "").lower().rstrip(".")
    if not host:
        raise UnsafeAddress("The address has no host.")
    if _own_host(host):
        raise UnsafeAddress(f"{host} is this application's own host.")
    if host in METADATA_HOSTS or host.endswith((".internal", ".localhost")) or host == "localhost":
        raise UnsafeAddress(f"{host} is a metadata or local host name.")
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is None and all(NUMERIC_LABEL.fullmatch(label) for label in host.split(".")):
        # 2130706433, 0x7f.1, 127.1, 0177.0.0.1: forms that resolvers read as addresses.
        raise UnsafeAddress(f"{host} is a numeric address in an unusual form.")
    if literal is not None and (why := forbidden_ip(literal)):
        raise UnsafeAddress(f"{host} is {why}.")
    return host


def resolve_checked(
    host: str, port: int, *, allow_private: bool = False, private_network_ok: bool = False
) -> str:
    """Resolve `host` now and return an address to connect to; refuse if any address is forbidden.

    `allow_private` (an admin's webhook) lets everything through; `private_network_ok` only
    private networks (see forbidden_ip).
    """
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectionError(f"Could not resolve {host}: {getattr(exc, 'strerror', None) or exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise ConnectionError(f"{host} has no address.")
    if not allow_private:
        for address in addresses:
            why = forbidden_ip(
                ipaddress.ip_address(address.split("%")[0]), private_network_ok=private_network_ok
            )
            if why:
                raise UnsafeAddress(f"{host} resolves to {address}, {why}.")
    return addresses[0]
