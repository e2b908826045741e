"""The case API at national scale, measured over HTTP beside a trivial endpoint in the same run.

Loads N cases into one organization (default 1,000,000; a database that already holds them is reused),
starts gunicorn with two sync workers on that database, and drives it with wrk (when installed;
`make bench-tools` installs it) or else an asyncio client, 4 connections, for each request below. Prints
req/s, p50 and p95 and the ratio of each request's throughput to the trivial endpoint's
(`GET /api/v1/auth/me/`, measured between every two lines; a line's ratio uses the runs right before and
after it, so a drift of the machine's speed during the run does not favour or penalize a line).

    python bench/api_throughput.py [--cases 1000000] [--database-url postgres://.../kameng_bench]
        [--port 8700] [--duration 8] [--trivial-duration 4] [--connections 4] [--workers 2] [--client auto|wrk|python]
        [--only NAME ...]

The database comes from --database-url, else BENCH_DATABASE_URL, else DATABASE_URL, else a SQLite file
var/bench-api.sqlite3. Throttling is lifted for the run (THROTTLE_USER); DEBUG is off; database
connections persist (DJANGO_CONN_MAX_AGE=60 unless set). Prints figures, never asserts.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

WRK_SCRIPT = r"""
local counter = 0
local started = 0
local method = os.getenv("BENCH_METHOD") or "GET"
local body_template = os.getenv("BENCH_BODY") or ""
setup = function(thread)
  started = started + 1
  thread:set("thread_no", started)  -- a global of that thread's own Lua state
end
init = function(args)
  local n = thread_no or 0
  math.randomseed(os.time() * 100 + n)
  salt = string.format("%d%06d%05d", n, math.random(0, 999999), os.time() % 100000)
end
request = function()
  if method == "POST" then
    counter = counter + 1
    local body = string.gsub(body_template, "__ORDER__", "W" .. salt .. "N" .. counter)
    local headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format(method, nil)
end
done = function(summary, latency, requests)
  io.write(string.format(
    "BENCH-JSON {\"requests\": %d, \"duration_us\": %d, \"p50_us\": %d, \"p95_us\": %d, \"p99_us\": %d, "
    .. "\"errors_status\": %d, \"errors_socket\": %d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL")
                        or os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench-api.sqlite3'}")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8700")))
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per request type")
    parser.add_argument("--trivial-duration", type=float, default=4.0,
                        help="seconds of each run of the trivial endpoint (measured between every two lines)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--only", nargs="*", default=None, help="run only these request names (and the trivial one)")
    return parser.parse_args()


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng_api.settings.local")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["THROTTLE_USER"] = "100000000/min"
    # Persistent database connections, as a production deployment runs (DJANGO_CONN_MAX_AGE); 0 opens a
    # connection per request, which every request, the trivial one included, then pays for.
    os.environ.setdefault("DJANGO_CONN_MAX_AGE", "60")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # A shared cache as production has (Redis): the reference tables are then read once per process
    # (kameng_api/core/snapshots.py). Without REDIS_URL, a local Redis is used when one answers.
    if not os.environ.get("REDIS_URL"):
        import socket

        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
            os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        except OSError:
            pass
    if database_url.startswith("sqlite"):
        Path(database_url.split("sqlite:///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()


def sample(org):
    """The cases and values the requests name: one in the middle of the list, one with evidence."""
    from cases.models import Case
    from evidence.models import Evidence

    qs = Case.objects.filter(organization=org)
    total = qs.count()
    middle = qs.order_by("-created_at", "-id")[total // 2]
    with_evidence = Evidence.objects.filter(case__organization=org).order_by("-case_id").values_list(
        "case_id", flat=True).first() or middle.pk
    return middle, with_evidence


def deep_cursor(org, position: int) -> str:
    """The cursor a client holds after paging `position` rows into the list (page 1,000 by cursor)."""
    from cases.models import Case
    from kameng_api.core.pagination import encode_cursor

    row = Case.objects.filter(organization=org).order_by("-created_at", "-id").values_list(
        "created_at", "id")[position - 1]
    return encode_cursor(list(row), reverse=False)


def requests_to_run(org, handlers, platforms, middle, evidence_case, cursor):
    from django.utils import timezone

    now = timezone.now()
    mid = middle.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps({
        "platform": platforms[0].pk, "order_number": "__ORDER__", "merchant_name": "店铺00-001",
        "product_type": "game_card", "amount_paid": "100.00", "payment_channel": "alipay",
        "purchased_at": (now - timedelta(days=2)).isoformat(), "delivered_at": (now - timedelta(days=2)).isoformat(),
        "problem_found_at": (now - timedelta(days=1)).isoformat(), "dispute_type": "invalid_code",
        "description": "卡密无效,商家不退款。", "consumer": {"name": "王伟", "phone": "13812345678"},
        "claims": [{"kind": "refund", "amount": "100.00"}],
    }, ensure_ascii=False)
    return [
        ("cases list (first page)", "GET", "/api/v1/cases/", None),
        ("cases list ?page_size=50", "GET", "/api/v1/cases/?page_size=50", None),
        ("cases list ?page=1000", "GET", "/api/v1/cases/?page=1000", None),
        ("cases list ?cursor= (row 25,000)", "GET", f"/api/v1/cases/?cursor={cursor}", None),
        ("cases ?status=negotiating", "GET", "/api/v1/cases/?status=negotiating", None),
        ("cases ?status=legal&page=50", "GET", "/api/v1/cases/?status=legal&page=50", None),
        ("cases ?platform=", "GET", f"/api/v1/cases/?platform={platforms[3].pk}", None),
        ("cases ?dispute_type=fraud", "GET", "/api/v1/cases/?dispute_type=fraud", None),
        ("cases ?product_type=game_card", "GET", "/api/v1/cases/?product_type=game_card", None),
        ("cases ?assignee=", "GET", f"/api/v1/cases/?assignee={handlers[5].pk}", None),
        ("cases ?created_after=", "GET", f"/api/v1/cases/?created_after={mid}", None),
        ("cases ?created_before=", "GET", f"/api/v1/cases/?created_before={mid}", None),
        ("cases ?search=<reference>", "GET", f"/api/v1/cases/?search={middle.reference}", None),
        ("cases ?search=<order number>", "GET", f"/api/v1/cases/?search={middle.order_number}", None),
        ("case detail (audit row)", "GET", f"/api/v1/cases/{middle.pk}/", None),
        ("case create", "POST", "/api/v1/cases/", body),
        ("evidence list", "GET", f"/api/v1/cases/{evidence_case}/evidence/", None),
        ("deadlines list", "GET", "/api/v1/deadlines/", None),
        ("alerts list", "GET", "/api/v1/alerts/", None),
    ]


def start_server(args) -> subprocess.Popen:
    env = dict(os.environ)
    log = open(ROOT / "var" / "bench-gunicorn.log", "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "kameng_api.wsgi", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=2):  # noqa: S310
                return proc
        except urllib.error.HTTPError:
            return proc  # answering, even if a dependency is down
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("gunicorn did not start (see var/bench-gunicorn.log)")


def check_once(base, token, method, path, body) -> int:
    request = urllib.request.Request(base + path, method=method, headers={  # noqa: S310
        "Authorization": f"Token {token}", "Content-Type": "application/json"},
        data=body.replace("__ORDER__", f"CHK{time.time_ns()}").encode() if body else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def run_wrk(base, token, method, path, body, args) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
        script = fh.name
    env = dict(os.environ, BENCH_METHOD=method, BENCH_BODY=body or "")
    threads = max(1, min(2, args.connections))
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{args.connections}", f"-d{max(1, round(args.duration))}s", "--timeout", "10s",
             "-H", f"Authorization: Token {token}", "-s", script, base + path],
            capture_output=True, text=True, env=env, check=False)
        out = out.stdout + out.stderr
    finally:
        os.unlink(script)
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH-JSON ")), None)
    if line is None:
        print(out.strip()[-500:], file=sys.stderr)
        return {"rps": 0.0, "p50": float("nan"), "p95": float("nan"), "errors": -1}
    data = json.loads(line[len("BENCH-JSON "):])
    return {"rps": data["requests"] / (data["duration_us"] / 1e6), "p50": data["p50_us"] / 1000,
            "p95": data["p95_us"] / 1000, "errors": data["errors_status"] + data["errors_socket"]}


async def _python_load(host, port, token, method, path, body, connections, duration) -> dict:
    latencies: list[float] = []
    errors = 0
    counter = 0
    run = time.time_ns()
    stop_at = time.perf_counter() + duration

    async def one_connection(n):
        nonlocal errors, counter
        reader = writer = None
        while time.perf_counter() < stop_at:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            payload = b""
            if body:
                counter += 1
                payload = body.replace("__ORDER__", f"P{run}C{n}N{counter}").encode()
            head = (f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Token {token}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
            started = time.perf_counter()
            writer.write(head + payload)
            await writer.drain()
            status_line = await reader.readline()
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                key, _, value = line.decode("latin-1").partition(":")
                headers[key.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0")))
            latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1]) if status_line else 599
            if status >= 400:
                errors += 1
            if headers.get("connection", "").lower() == "close" or not status_line:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection(n) for n in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else float("nan")

    return {"rps": len(latencies) / elapsed, "p50": pct(50), "p95": pct(95), "errors": errors}


def run_python(base, token, method, path, body, args) -> dict:
    return asyncio.run(_python_load("127.0.0.1", args.port, token, method, path, body, args.connections,
                                    args.duration))


def main() -> int:
    args = parse_args()
    setup_django(args.database_url)
    import _caseload
    from django.core.management import call_command
    from django.db import connection

    (ROOT / "var").mkdir(exist_ok=True)
    call_command("migrate", verbosity=0, interactive=False)
    _caseload.load(args.cases, log=lambda m: print(m, flush=True))
    org, handlers, token, platforms = _caseload.ensure_fixture()
    middle, evidence_case = sample(org)
    cursor = deep_cursor(org, min(25_000, _caseload.loaded_cases(org)))
    total = _caseload.loaded_cases(org)
    vendor = connection.vendor
    connection.close()

    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    runner = run_wrk if use_wrk else run_python
    cores = os.cpu_count()
    print(f"{total:,} cases in one organization on {vendor}; gunicorn {args.workers} sync workers, "
          f"{args.connections} connections, {args.duration:g} s each, "
          f"CONN_MAX_AGE={os.environ['DJANGO_CONN_MAX_AGE']}, client "
          f"{'wrk' if use_wrk else 'asyncio (python)'}; {cores} cores (server, database and client share them)",
          flush=True)
    base = f"http://127.0.0.1:{args.port}"
    server = start_server(args)
    try:
        todo = requests_to_run(org, handlers, platforms, middle, evidence_case, cursor)
        if args.only:
            todo = [r for r in todo if any(o in r[0] for o in args.only)]
        trivial = ("trivial GET /auth/me/", "GET", "/api/v1/auth/me/", None)
        results = []

        def measure(name, method, path, body, duration):
            status = check_once(base, token, method, path, body)
            runner(base, token, method, path, body, argparse.Namespace(**{**vars(args), "duration": 1}))  # warm-up
            figures = runner(base, token, method, path, body, argparse.Namespace(**{**vars(args),
                                                                                   "duration": duration}))
            figures["status"] = status
            print(f"  measured {name}: {figures['rps']:.0f} req/s (HTTP {status})", flush=True)
            return figures

        # The trivial endpoint is measured between every two lines: a shared machine's speed drifts during a
        # run (seen: the trivial endpoint at 579 req/s at the start and 389 at the end of one run), so each
        # line is compared with the trivial runs right before and after it.
        trivials = [measure(*trivial, args.trivial_duration)]
        for name, method, path, body in todo:
            figures = measure(name, method, path, body, args.duration)
            trivials.append(measure(*trivial, args.trivial_duration))
            figures["baseline"] = statistics.mean([trivials[-2]["rps"], trivials[-1]["rps"]]) or 1.0
            results.append((name, figures))
        print()
        print(f"{'request':38} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'trivial':>8} {'× trivial':>10} "
              f"{'status':>7} {'errors':>7}")
        rps = [t["rps"] for t in trivials]
        p50 = statistics.median(t["p50"] for t in trivials)
        p95 = statistics.median(t["p95"] for t in trivials)
        print(f"{'trivial GET /auth/me/ (median of ' + str(len(trivials)) + ')':38} {statistics.median(rps):8.0f} "
              f"{p50:8.1f} {p95:8.1f} {'':>8} {1.0:10.2f} {trivials[0]['status']:>7} "
              f"{sum(t['errors'] for t in trivials):>7}")
        for name, f in results:
            print(f"{name:38} {f['rps']:8.0f} {f['p50']:8.1f} {f['p95']:8.1f} {f['baseline']:8.0f} "
                  f"{f['rps'] / f['baseline']:10.2f} {f['status']:>7} {f['errors']:>7}")
        print(f"\ntrivial endpoint: {min(rps):.0f}-{max(rps):.0f} req/s over the run; each line's ratio uses the "
              f"mean of the trivial runs right before and after it (column 'trivial')")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
