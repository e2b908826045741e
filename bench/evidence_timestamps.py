"""Evidence uploads with and without a TSA configured (the stamping is asynchronous, so uploads should not
slow down), and how fast the tokens then arrive from a local TSA (openssl ts -reply).

For each setting it starts gunicorn (one sync worker) on a fresh SQLite database, uploads BENCH_SMALL (40)
files of 64 KB one after the other (requests/s, p50/p95 ms) and one of BENCH_LARGE_MB (100) MB (MB/s).
With the TSA configured it then stamps every pending row (one item and one chain head per upload) in one
process and prints tokens/s and ms per token. The local TSA listens on BENCH_TSA_PORT (default 8590)."""

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import evidence_upload as eu  # noqa: E402

SMALL = int(os.environ.get("BENCH_SMALL", "40"))
LARGE_MB = int(os.environ.get("BENCH_LARGE_MB", "100"))
TSA_PORT = int(os.environ.get("BENCH_TSA_PORT", "8590"))

STAMP = """
import time
from evidence.models import EvidenceTimestamp
from evidence.services import timestamp_attempt
ids = list(EvidenceTimestamp.objects.filter(status="pending").values_list("pk", flat=True))
start = time.perf_counter()
results = [timestamp_attempt(timestamp_id=pk) for pk in ids]
elapsed = time.perf_counter() - start
print("STAMP", len(ids), results.count("stamped"), elapsed)
"""


def run(label: str, extra_env: dict) -> dict:
    work = eu.WORK
    shutil.rmtree(work, ignore_errors=True)
    (work / "media").mkdir(parents=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.local", "DJANGO_DEBUG": "false",
           "DJANGO_MEDIA_ROOT": str(work / "media"), "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
           **extra_env}
    env.pop("REDIS_URL", None)
    if "KAMENG_TSA_URL" not in extra_env:
        env.pop("KAMENG_TSA_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=eu.ROOT, env=env, check=True)
    out = subprocess.run([python, "manage.py", "shell", "-c", eu.SETUP], cwd=eu.ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    _, token, case_id = next(line for line in out.splitlines() if line.startswith("BENCH")).split()
    port = eu.free_port()
    server = subprocess.Popen([python, "-m", "gunicorn", "kameng_api.wsgi", "--workers", "1", "--bind",
                               f"127.0.0.1:{port}", "--timeout", "600", "--log-level", "warning"],
                              cwd=eu.ROOT, env=env)
    figures: dict = {"label": label}
    try:
        eu.worker_of(server.pid)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        block = os.urandom(eu.MiB)
        eu.upload(port, token, int(case_id), 64 * 1024, block)  # warm-up
        times = []
        start = time.perf_counter()
        for _ in range(SMALL):
            status, elapsed, payload = eu.upload(port, token, int(case_id), 64 * 1024, block)
            if status != 201:
                print("  upload failed:", status, payload[:200])
            times.append(elapsed * 1000)
        total = time.perf_counter() - start
        times.sort()
        figures.update(rps=SMALL / total, p50=statistics.median(times), p95=times[int(len(times) * 0.95) - 1])
        status, elapsed, _payload = eu.upload(port, token, int(case_id), LARGE_MB * eu.MiB, block)
        figures["large"] = LARGE_MB / elapsed if status == 201 else 0.0
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    if "KAMENG_TSA_URL" in extra_env:
        out = subprocess.run([python, "manage.py", "shell", "-c", STAMP], cwd=eu.ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout
        _, rows, stamped, seconds = next(line for line in out.splitlines() if line.startswith("STAMP")).split()
        figures.update(rows=int(rows), stamped=int(stamped), stamp_seconds=float(seconds))
    shutil.rmtree(work, ignore_errors=True)
    return figures


def main() -> int:
    from evidence.localtsa import LocalTSA

    tsa_dir = eu.ROOT / "var" / "bench-tsa"
    shutil.rmtree(tsa_dir, ignore_errors=True)
    results = []
    with LocalTSA(tsa_dir, port=TSA_PORT) as tsa:
        for round_ in (1, 2):  # alternated, so the shared machine's load falls on both alike
            results.append(run(f"no TSA configured {round_}", {}))
            results.append(run(f"TSA configured {round_}", {"KAMENG_TSA_URL": tsa.url,
                                                            "KAMENG_TSA_CA_FILE": str(tsa.ca_file)}))
    shutil.rmtree(tsa_dir, ignore_errors=True)
    print(f"{'':22} {'64 KB uploads/s':>16} {'p50 ms':>8} {'p95 ms':>8} {f'{LARGE_MB} MB MB/s':>12}")
    for r in results:
        print(f"{r['label']:22} {r['rps']:>16.1f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['large']:>12.1f}")
    for stamped in results[1::2]:
        print(f"{stamped['label']}: tokens after the uploads: {stamped['stamped']}/{stamped['rows']} stamped in "
              f"{stamped['stamp_seconds']:.2f} s ({stamped['rows'] / stamped['stamp_seconds']:.1f} tokens/s, "
              f"{stamped['stamp_seconds'] / stamped['rows'] * 1000:.0f} ms each, one process, local TSA)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
