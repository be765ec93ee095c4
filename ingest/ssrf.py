"""The SSRF guard: only public addresses are fetched, checked before a request and again at every connect."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(Exception):
    """A URL or address the guard refuses to fetch."""


class UnresolvableHost(httpcore.ConnectError):
    """A host name that does not resolve (httpx reports it as a ConnectError caused by this)."""


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix (RFC 6052): the IPv4 in the last 32 bits
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local use (RFC 8215): each network lays it out its own way
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated (RFC 4291), still tunnelled to the IPv4 by some stacks


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 or IPv4-compatible address stands for (None for other addresses)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64 or ip in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Whether an address is globally routable unicast.

    Loopback, private, link-local (169.254.169.254, the cloud metadata service, is one), unique-local
    (fd00:ec2::254, AWS's IPv6 metadata), shared (100.64/10, incl. Alibaba's 100.100.100.200), reserved,
    unspecified and multicast addresses are not.

    An IPv6 address standing for an IPv4 one is judged by that IPv4: IPv4-mapped (::ffff:a.b.c.d), NAT64
    (64:ff9b::a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses. So a NAT64 address of a public IPv4 is allowed:
    on an IPv6-only network with DNS64 it is how every IPv4-only site resolves, and the translator reaches only
    that IPv4 (RFC 6052 reserves the well-known prefix for global IPv4 anyway). A 6to4 address (2002::/16) is
    refused when its IPv4 is not public. Refused outright: local-use NAT64 (64:ff9b:1::/48, where the IPv4 sits
    and which network it reaches are the operator's choice), Teredo (2001::/32, relayed to an obfuscated client
    IPv4 we cannot vouch for) and the rest of the unallocated space (SIIT's ::ffff:0:a.b.c.d, say), which no
    public site uses but Python 3.11 calls global.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        if ip in NAT64_LOCAL or ip.teredo is not None or ip.is_reserved:
            return False
        if ip.sixtofour is not None and not is_public_address(ip.sixtofour):
            return False
    return ip.is_global and not ip.is_multicast


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class AddressGuard:
    """Refuses non-http(s) URLs and hosts with non-public addresses, except the hosts in `allow_hosts`."""

    def __init__(self, allow_hosts: Iterable[str]) -> None:
        self._allowed = frozenset(host.strip("[]").rstrip(".").lower() for host in allow_hosts)

    def is_allowed(self, host: str) -> bool:
        """Whether a host is exempt from the address checks."""
        return host.strip("[]").rstrip(".").lower() in self._allowed

    def check_url(self, url: httpx.URL) -> None:
        """Refuse a URL without touching the network: a scheme other than http(s), or a non-public IP literal."""
        if url.scheme not in ("http", "https"):
            raise BlockedAddress(f"refused {url.scheme or 'scheme-less'} URL: only http and https are fetched")
        if not url.host:
            raise BlockedAddress(f"refused URL without a host: {url}")
        address = _literal_address(url.host)
        if address is not None and not self.is_allowed(url.host) and not is_public_address(address):
            raise BlockedAddress(f"refused non-public address {address}")

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for a host; BlockedAddress if any of them is not public.

        Raises socket.gaierror when the name does not resolve.
        """
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self.is_allowed(host):
            blocked = [a for a in addresses if not is_public_address(ipaddress.ip_address(a.split("%")[0]))]
            if blocked:
                raise BlockedAddress(f"refused {host}: it resolves to non-public address {', '.join(blocked)}")
        return addresses


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses the guard resolved and accepted.

    Resolving once and connecting to exactly those addresses leaves no gap for DNS rebinding.
    """

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._guard.resolve(host, port)
        except socket.gaierror as exc:
            raise UnresolvableHost(f"DNS lookup failed for {host}: {exc.strerror or exc}") from exc
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address to connect to for {host}")


def guarded_transport(guard: AddressGuard) -> httpx.HTTPTransport:
    """An httpx transport whose every new connection passes the guard."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx 0.28 has no public option for httpcore's network backend (encode/httpx#3749), so rebuild its pool.
    limits = httpx.Limits()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(guard),
    )
    return transport
