"""Webhook URLs reach only the public internet: every address form, and DNS answers that change."""

import socket
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import services, ssrf
from notifications.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

REFUSED = [
    # plain private, loopback, link-local, shared, reserved
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",  # noqa: S104
    "192.0.2.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1",
    "ff02::1",
    # NAT64 well-known prefix 64:ff9b::/96 with a private IPv4 inside
    "64:ff9b::a00:1", "64:ff9b::10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::169.254.169.254", "64:ff9b::c0a8:101",
    # NAT64 local-use prefix 64:ff9b:1::/48: always inside an operator's network
    "64:ff9b:1::808:808", "64:ff9b:1:2::a00:1",
    # 6to4 2002::/16 with a private IPv4 in bits 16-47
    "2002:a00:1::1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::5",
    # IPv4-compatible ::a.b.c.d (deprecated): refused whatever it holds
    "::a00:1", "::127.0.0.1", "::169.254.169.254", "::8.8.8.8",
    # IPv4-mapped and IPv4-translated
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:192.168.1.1", "::ffff:7f00:1",
    "::ffff:0:10.0.0.1", "::ffff:0:127.0.0.1",
    # Teredo
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    # scoped and malformed
    "fe80::1%eth0", "not-an-address",
]
ALLOWED = ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1",
           "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_address_forms_are_refused(address):
    assert not ssrf.address_is_public(address)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address):
    assert ssrf.address_is_public(address)


@pytest.mark.parametrize("host", [
    "[64:ff9b::a00:1]", "[64:ff9b::7f00:1]", "[64:ff9b:1::808:808]", "[2002:a00:1::1]", "[2002:7f00:1::]",
    "[::a00:1]", "[::127.0.0.1]", "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:0:10.0.0.1]",
    "[fe80::1]", "0x7f000001", "2130706433", "0177.0.0.1", "127.1", "localhost",
])
def test_webhook_urls_with_embedded_private_addresses_are_refused(host):
    with pytest.raises(ValidationError) as info:
        services.webhook_url_check(f"http://{host}:8080/hooks", block_private=True)
    assert "url" in info.value.message_dict


def test_the_api_refuses_a_nat64_url(supervisor, settings):
    settings.KAMENG_WEBHOOK_BLOCK_PRIVATE = True
    response = supervisor.post("/api/v1/webhooks/", {"url": "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
                                                     "events": ["deadline.overdue"]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "url"
    assert not WebhookEndpoint.objects.exists()


class FakeDNS:
    """Answers for the test's own host names (a real resolver cannot be made to change its answer here);
    every other name goes to the system resolver."""

    def __init__(self, monkeypatch, answers: dict[str, list[str]]):
        self.answers = {host: list(addresses) for host, addresses in answers.items()}
        self.calls: list[str] = []
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.calls.append(host)
        address = self.answers[host].pop(0) if len(self.answers[host]) > 1 else self.answers[host][0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


def _deliver_to(org, url):
    endpoint = WebhookEndpoint.objects.create(organization=org, url=url, events=["deadline.overdue"],
                                              secret="whsec_test")
    return Delivery.objects.create(
        dedupe_key=f"test:{endpoint.pk}", organization=org, channel="webhook", endpoint=endpoint,
        recipient=url, event_type="deadline.overdue", payload={"test": True},
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )


def test_dns_rebinding_after_the_endpoint_was_saved_is_refused_at_send_time(org, receiver, monkeypatch,
                                                                             settings, supervisor):
    r = receiver()
    port = r.server.server_address[1]
    settings.KAMENG_WEBHOOK_BLOCK_PRIVATE = True
    dns = FakeDNS(monkeypatch, {"rebind.example.test": ["93.184.216.34", "127.0.0.1"]})
    created = supervisor.post("/api/v1/webhooks/", {"url": f"http://rebind.example.test:{port}/hooks",
                                                    "events": ["deadline.overdue"]}, format="json")
    assert created.status_code == 201  # public when saved
    endpoint = WebhookEndpoint.objects.get()
    delivery = _deliver_to(org, endpoint.url)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert "non-public address (127.0.0.1)" in delivery.last_error
    assert r.requests == []  # nothing reached the private address
    assert dns.calls == ["rebind.example.test", "rebind.example.test"]


def test_a_host_with_one_private_address_among_public_ones_is_refused(org, receiver, monkeypatch, settings):
    r = receiver()
    settings.KAMENG_WEBHOOK_BLOCK_PRIVATE = True

    def mixed(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    delivery = _deliver_to(org, f"http://mixed.example.test:{r.server.server_address[1]}/hooks")
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retry"
    assert r.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(org, receiver, monkeypatch, settings):
    """Resolved once per send; a second answer (here an unroutable address) is never asked for."""
    r = receiver()
    port = r.server.server_address[1]
    settings.KAMENG_WEBHOOK_BLOCK_PRIVATE = False  # the receiver is on 127.0.0.1
    dns = FakeDNS(monkeypatch, {"pinned.example.test": ["127.0.0.1", "192.0.2.1"]})
    delivery = _deliver_to(org, f"http://pinned.example.test:{port}/hooks?x=1")
    assert services.delivery_attempt(delivery_id=delivery.pk) == "sent"
    assert dns.calls == ["pinned.example.test"]
    assert len(r.requests) == 1
    assert r.requests[0]["headers"]["Host"] == f"pinned.example.test:{port}"


def test_redirects_are_not_followed(org, monkeypatch, settings):
    import http.server
    import threading

    hits = []

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.KAMENG_WEBHOOK_BLOCK_PRIVATE = False
        delivery = _deliver_to(org, f"http://127.0.0.1:{server.server_address[1]}/hooks")
        assert services.delivery_attempt(delivery_id=delivery.pk) == "retry"
        delivery.refresh_from_db()
        assert delivery.last_status_code == 307 and hits == ["/hooks"]
    finally:
        server.shutdown()
        server.server_close()
