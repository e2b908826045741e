"""The URL limits under the real server (gunicorn with gunicorn.conf.py): every refusal is JSON."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

PORT = 8231


def _raw_get(target: str) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.test",
           "GUNICORN_BIND": f"127.0.0.1:{PORT}", "GUNICORN_WORKERS": "1"}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "kameng_api.wsgi:application",
                                 "--config", "gunicorn.conf.py"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.2)
    yield proc
    proc.terminate()
    proc.wait(timeout=15)


@pytest.mark.parametrize("length", [5000, 8100, 20_000, 100_000])
def test_long_urls_are_414_in_the_error_format_whichever_layer_refuses(gunicorn_server, length):
    status, headers, body = _raw_get("/api/v1/cases/?search=" + "a" * length)
    assert status == 414
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)
    assert error["type"] == "client_error" and error["errors"][0]["code"] == "uri_too_long"


def test_a_malformed_request_line_is_a_json_400(gunicorn_server):
    status, headers, body = _raw_get("/api/v1/cases/ EXTRA")
    assert status == 400 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["errors"][0]["code"] == "bad_request"
