"""The outbound network policy of every action and webhook that opens a connection.

A workflow author chooses the URL (or the SMTP server, or the SSH host), so without a policy any
workflow could read a cloud metadata service or an internal admin port through the worker. The
policy is enforced where the socket is opened: the name is resolved once, every address is checked
(an IPv4 address embedded in an IPv6 one is checked as IPv4), and the socket connects to a checked
address only, so neither a redirect nor a DNS answer that changes between check and use gets past it.

Actions of other packages reach the network through the same door: :func:`http_session` for HTTP and
:func:`connect` for any other TCP protocol, both taking the action's context.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3 import PoolManager, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from app.actions.base import ActionError, utc_text

if TYPE_CHECKING:
    from app.actions.base import ActionContext, OutboundLog
    from app.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
# Link-local covers the AWS/GCP/Azure/OpenStack metadata service; the others are metadata addresses
# outside it. The unspecified addresses are listed because the kernel routes them to the local host,
# which would otherwise slip past an operator's loopback deny.
DEFAULT_DENIED_CIDRS = (
    "169.254.0.0/16",
    "fe80::/10",
    "100.100.100.200/32",
    "fd00:ec2::254/128",
    "0.0.0.0/32",
    "::/128",
)
# Denied as well unless HTTP_DENY_PRIVATE=false: the host itself and the networks behind it.
PRIVATE_CIDRS = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "::1/128",
    "fc00::/7",
)
# IPv6 prefixes whose last 32 bits carry an IPv4 address: NAT64 (well-known and local-use).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
_CHUNK_SIZE = 64 * 1024


class EgressDenied(ActionError):
    """The policy refused a request; the message names the host or address and the rule."""


class ResponseTooLarge(EgressDenied):
    """The response body is larger than the policy's cap."""


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    networks = []
    for text in cidrs:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"Invalid CIDR in the outbound HTTP deny list: {text!r}") from exc
    return tuple(networks)


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class EgressPolicy:
    """What outbound HTTP may reach.

    ``allowed_hosts`` empty means any host whose addresses are outside ``denied_networks``. When it
    is set, only the listed hosts (exact names or ``*.domain``) are reachable and the deny list does
    not apply to them: the operator named them on purpose.
    """

    allowed_hosts: tuple[str, ...] = ()
    denied_networks: tuple[Network, ...] = field(default_factory=lambda: parse_networks(DEFAULT_DENIED_CIDRS))
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        # Matching compares normalised names, so entries are stored the same way.
        hosts = tuple(_normal_host(h) for h in self.allowed_hosts if h.strip())
        object.__setattr__(self, "allowed_hosts", hosts)

    @classmethod
    def create(cls, allowed_hosts: Iterable[str] = (), denied_cidrs: Iterable[str] = (),
               connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, read_timeout: float = DEFAULT_READ_TIMEOUT,
               max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES, deny_private: bool = False) -> EgressPolicy:
        """A policy that denies ``denied_cidrs`` on top of the defaults (and private ranges if asked)."""
        private = PRIVATE_CIDRS if deny_private else ()
        return cls(
            allowed_hosts=tuple(allowed_hosts),
            denied_networks=parse_networks((*DEFAULT_DENIED_CIDRS, *private, *denied_cidrs)),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_response_bytes=max_response_bytes,
        )

    def is_listed(self, host: str) -> bool:
        name = _normal_host(host)
        for entry in self.allowed_hosts:
            if name == entry or (entry.startswith("*.") and name.endswith(entry[1:])):
                return True
        return False

    def check_url(self, url: str) -> None:
        """Refuse a URL by scheme or by host name, before anything is resolved."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            raise EgressDenied(f"Outbound HTTP denied: scheme {parts.scheme or '(none)'!r} of {url!r} "
                               f"is not one of {', '.join(ALLOWED_SCHEMES)}")
        if not parts.hostname:
            raise EgressDenied(f"Outbound HTTP denied: {url!r} has no host")
        self.check_host(parts.hostname)

    def check_host(self, host: str) -> None:
        if self.allowed_hosts and not self.is_listed(host):
            raise EgressDenied(f"Outbound HTTP denied: host {host!r} is not in the allowed hosts "
                               f"({', '.join(self.allowed_hosts)})")

    def denying_network(self, address: Address) -> Network | None:
        candidates = [address, *embedded_ipv4(address)]
        for network in self.denied_networks:
            if any(candidate.version == network.version and candidate in network for candidate in candidates):
                return network
        return None

    def resolve(self, host: str, port: int, require_all: bool = False, what: str = "HTTP") -> list[str]:
        """The addresses of ``host`` that a socket may connect to; never empty.

        Raises :class:`EgressDenied` when none is allowed (or, with ``require_all``, when any is
        denied), and ``socket.gaierror`` when the name does not resolve.
        """
        self.check_host(host)
        infos = socket.getaddrinfo(_normal_host(host), port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if self.allowed_hosts:
            return addresses
        allowed, refusals = [], []
        for text in addresses:
            network = self.denying_network(ipaddress.ip_address(text.split("%", 1)[0]))
            if network is None:
                allowed.append(text)
            else:
                refusals.append(f"{text} is in denied network {network}")
        if not allowed or (require_all and refusals):
            raise EgressDenied(f"Outbound {what} denied: host {host!r} resolves to a denied address "
                               f"({'; '.join(refusals)})")
        return allowed

    def connect(self, host: str, port: int, timeout: float | None = None) -> socket.socket:
        """A TCP socket connected to an address of ``host`` that the policy allows.

        Raises :class:`EgressDenied` when the policy refuses every address, ``OSError`` when none
        answers.
        """
        addresses = self.resolve(host, port, what=f"connection to port {port}")
        error: OSError = OSError(f"No address to connect to for {host}")
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout or self.connect_timeout)
            except OSError as exc:
                error = exc
        raise error


def embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, 6to4, Teredo and NAT64 forms.

    A host reaches them through the IPv6 form (a NAT64 gateway or a 6to4 relay translates), so each
    is checked as if it were given directly.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo is not None:
        found += list(address.teredo)
    as_int = int(address)
    if 1 < as_int < 2 ** 32:  # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
        found.append(ipaddress.IPv4Address(as_int))
    if any(address in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(as_int & 0xFFFFFFFF))
    return [candidate for candidate in found if candidate is not None]


@lru_cache(maxsize=8)
def _cached_policy(allowed_hosts: tuple[str, ...], denied_cidrs: tuple[str, ...], connect_timeout: float,
                   read_timeout: float, max_response_bytes: int, deny_private: bool) -> EgressPolicy:
    return EgressPolicy.create(allowed_hosts, denied_cidrs, connect_timeout, read_timeout, max_response_bytes,
                               deny_private)


def policy_from_settings(settings: Settings) -> EgressPolicy:
    """The process's policy, built once per distinct configuration."""
    return _cached_policy(
        tuple(settings.http_allowed_hosts), tuple(settings.http_denied_cidrs),
        float(settings.http_connect_timeout), float(settings.http_read_timeout),
        int(settings.http_max_response_bytes), bool(settings.http_deny_private),
    )


def policy_of(context: ActionContext) -> EgressPolicy:
    """The policy an action runs under (the default one when its context names none)."""
    return context.egress or EgressPolicy()


def http_session(context: ActionContext) -> EgressSession:
    """A requests session for an action: every connection it opens goes through the policy.

    An action that calls ``requests`` directly bypasses the policy; use this instead.
    """
    return EgressSession(policy_of(context), context.outbound)


def connect(context: ActionContext, host: str, port: int, timeout: float | None = None) -> socket.socket:
    """A TCP socket for an action, connected to an address of ``host`` that the policy allows."""
    return policy_of(context).connect(host, port, timeout)


# ----------------------------------------------------------------------------------- Transport


def _open_socket(conn: HTTPConnection, policy: EgressPolicy) -> socket.socket:
    """urllib3's ``_new_conn`` with the policy between resolution and connect."""
    port = conn.port or conn.default_port
    try:
        addresses = policy.resolve(conn._dns_host, port)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    error: Exception = NewConnectionError(conn, f"No address to connect to for {conn.host}")
    for address in addresses:
        try:
            return urllib3_connection.create_connection(
                (address, port), conn.timeout,
                source_address=conn.source_address, socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            error = ConnectTimeoutError(conn, f"Connection to {conn.host} ({address}) timed out. "
                                              f"(connect timeout={conn.timeout})")
            error.__cause__ = exc
        except OSError as exc:
            error = NewConnectionError(conn, f"Failed to establish a new connection to {address}: {exc}")
            error.__cause__ = exc
    raise error


class _GuardedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, egress_policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.egress_policy = egress_policy

    def _new_conn(self) -> socket.socket:
        return _open_socket(self, self.egress_policy)


class _GuardedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, egress_policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.egress_policy = egress_policy

    def _new_conn(self) -> socket.socket:
        return _open_socket(self, self.egress_policy)


def _guard_pool(pool: HTTPConnectionPool, scheme: str, policy: EgressPolicy) -> HTTPConnectionPool:
    pool.ConnectionCls = _GuardedHTTPSConnection if scheme == "https" else _GuardedHTTPConnection
    pool.conn_kw["egress_policy"] = policy
    return pool


class _GuardedPoolManager(PoolManager):
    def __init__(self, egress_policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.egress_policy = egress_policy

    def _new_pool(self, scheme: str, host: str, port: int,
                  request_context: dict[str, Any] | None = None) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        return _guard_pool(pool, scheme, self.egress_policy)


class _GuardedProxyManager(ProxyManager):
    def __init__(self, proxy_url: str, egress_policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(proxy_url, **kwargs)
        self.egress_policy = egress_policy

    def _new_pool(self, scheme: str, host: str, port: int,
                  request_context: dict[str, Any] | None = None) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        return _guard_pool(pool, scheme, self.egress_policy)


class EgressAdapter(HTTPAdapter):
    """An adapter whose every connection, to the origin or to a proxy, goes through the policy."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.egress_policy = policy  # set first: HTTPAdapter.__init__ builds the pool manager
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _GuardedPoolManager(self.egress_policy, num_pools=connections, maxsize=maxsize,
                                               block=block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        if proxy not in self.proxy_manager:
            scheme = urlsplit(proxy).scheme.lower()
            if scheme not in ALLOWED_SCHEMES:
                # A SOCKS proxy resolves and connects where no check of ours can see.
                raise EgressDenied(f"Outbound HTTP denied: proxy scheme {scheme!r} is not one of "
                                   f"{', '.join(ALLOWED_SCHEMES)}")
            self.proxy_manager[proxy] = _GuardedProxyManager(
                proxy, self.egress_policy, proxy_headers=self.proxy_headers(proxy),
                num_pools=self._pool_connections, maxsize=self._pool_maxsize, block=self._pool_block,
                **proxy_kwargs,
            )
        return self.proxy_manager[proxy]

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float, float] | tuple[float, None] | None = None,
             verify: bool | str = True, cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        url = request.url or ""
        self.egress_policy.check_url(url)
        if proxies and select_proxy(url, dict(proxies)):
            _check_proxied_target(self.egress_policy, url)
        if timeout is None:
            timeout = (self.egress_policy.connect_timeout, self.egress_policy.read_timeout)
        # Always streamed, so that the body is read under the size cap whatever the caller asked.
        response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert,
                                proxies=proxies)
        read_capped(response, self.egress_policy.max_response_bytes)
        return response


def _check_proxied_target(policy: EgressPolicy, url: str) -> None:
    """Through a proxy the proxy resolves the origin, so every address it could pick must pass."""
    if policy.allowed_hosts:
        return  # check_url admitted the host by name, which is the allow-list's whole rule
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        policy.resolve(parts.hostname or "", port, require_all=True)
    except socket.gaierror as exc:
        raise EgressDenied(f"Outbound HTTP denied: cannot resolve {parts.hostname!r} to check it "
                           f"before sending it through a proxy ({exc})") from exc


def read_capped(response: requests.Response, limit: int) -> None:
    """Read the whole body into ``response``, refusing one larger than ``limit`` bytes."""
    declared = response.headers.get("Content-Length", "").strip()
    is_head = response.request is not None and response.request.method == "HEAD"
    if declared.isdigit() and int(declared) > limit and not is_head:
        response.close()
        raise ResponseTooLarge(f"Outbound HTTP denied: the response of {response.url} declares "
                               f"{declared} bytes, more than the limit of {limit} bytes")
    body = bytearray()
    try:
        # Counted after decompression, so a small gzip bomb is caught as well.
        for chunk in response.iter_content(_CHUNK_SIZE):
            body += chunk
            if len(body) > limit:
                raise ResponseTooLarge(f"Outbound HTTP denied: the response of {response.url} is larger "
                                       f"than the limit of {limit} bytes")
    except BaseException:
        response.close()
        raise
    response._content = bytes(body)


class EgressSession(requests.Session):
    """A requests session bound to a policy; every hop of a redirect chain is checked again."""

    def __init__(self, policy: EgressPolicy, outbound: OutboundLog | None = None) -> None:
        super().__init__()
        self.egress_policy = policy
        self.outbound = outbound
        self._hops = 0
        # Proxies, credentials and CA bundles from the worker's environment would change what a
        # workflow can reach without the policy knowing; callers pass them explicitly instead.
        self.trust_env = False
        self.adapters.clear()
        adapter = EgressAdapter(policy)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def get_adapter(self, url: str) -> Any:
        self.egress_policy.check_url(url)
        return super().get_adapter(url)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        # Noted with the headers requests added (auth, cookies, content type) once an answer shows
        # it was received; a request the policy refused or no server took was never sent. A
        # redirect's hops are sent from inside this call and end first: only the outermost counts.
        leaving, self._hops = utc_text(), self._hops + 1
        try:
            response = super().send(request, **kwargs)
        finally:
            self._hops -= 1
        if self.outbound is not None and not self._hops:
            self.outbound.record(str(request.method), str(request.url), request.headers, leaving)
        return response
