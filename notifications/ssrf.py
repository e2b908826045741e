"""Webhook URLs may only reach the public internet (SSRF).

A partner chooses the URL the worker will POST to, so the URL's host is resolved *when the request is
sent*, every address it resolves to is checked, and the connection is made to a checked address (the
name is never resolved a second time, so a DNS answer that changes between check and connect — DNS
rebinding — cannot steer the request inside). IPv6 addresses that carry an IPv4 address inside are
judged by that IPv4 address; forms that are deprecated or local by definition are refused outright.
"""

import http.client
import ipaddress
import socket
import ssl
import urllib.parse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 4291 2.5.5.1: IPv4-compatible ::a.b.c.d, deprecated; a stack may still route it as IPv4.
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# RFC 2765 (SIIT) IPv4-translated ::ffff:0:a.b.c.d.
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0/96")
# RFC 6052 NAT64 well-known prefix: the IPv4 address is the last 32 bits.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215 local-use NAT64 prefix: translators inside an operator's own network, never a partner's.
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# RFC 3056 6to4: the IPv4 address is bits 16-47.
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


class AddressRefused(Exception):
    pass


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return ip.ipv4_mapped
    if ip in IPV4_TRANSLATED or ip in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in SIX_TO_FOUR:
        return ip.sixtofour
    return None


def _ipv4_public(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local)


def address_is_public(address: str | IPAddress) -> bool:
    """True only for an address on the public internet, however it is written."""
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 4:
        return _ipv4_public(ip)
    if ip in IPV4_COMPATIBLE or ip in NAT64_LOCAL or ip.teredo is not None:
        return False
    inner = embedded_ipv4(ip)
    if inner is not None:
        return _ipv4_public(inner)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_site_local)


def resolve(host: str, port: int, *, block_private: bool) -> list[str]:
    """Every address of `host`; with `block_private`, refused unless every one of them is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise AddressRefused(f"{host} has no address")
    if block_private:
        bad = [a for a in addresses if not address_is_public(a)]
        if bad:
            raise AddressRefused(f"{host} resolves to a non-public address ({', '.join(bad)})")
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, *, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address, with SNI and certificate verification against the URL's host name."""

    def __init__(self, host, port, *, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]  # http.client's own; typeshed omits it
            sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict, *, timeout: float, block_private: bool) -> int:
    """POST `body` to `url` and return the HTTP status. Redirects are not followed (a redirect is an
    answer, not an instruction). Raises AddressRefused for a URL that may not be reached."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("only http and https URLs with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname, port, block_private=block_private)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    last_error: OSError | None = None
    for address in addresses:
        connection = cls(parts.hostname, port, address=address, timeout=timeout)
        try:
            connection.request("POST", path, body=body, headers=headers)
            return connection.getresponse().status
        except (TimeoutError, ConnectionError) as exc:  # try the host's next checked address
            last_error = exc
        finally:
            connection.close()
    raise last_error or OSError(f"could not connect to {parts.hostname}")
