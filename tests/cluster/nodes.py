"""Start and stop the project's own processes for the multi-node tests: gunicorn web nodes, Celery workers
and beats, each in its own process group so a test can kill one (SIGKILL) like a machine that dies."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers import wait_for  # noqa: F401 - the cluster tests import it from here

ROOT = Path(__file__).resolve().parent.parent.parent
SETTINGS = "tests.cluster.node_settings"


class Process:
    def __init__(self, name: str, cmd: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (the master and its children), as when a machine dies."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM: graceful shutdown (gunicorn finishes its requests, Celery its tasks)."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def node_env(database_url: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "DATABASE_REPLICA"))}
    env.update({"DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def start_web(name: str, port: int, env: dict, log_dir: Path, workers: int = 2) -> Process:
    return Process(name, [sys.executable, "-m", "gunicorn", "kameng_api.wsgi:application", "-c",
                          str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}", "--workers",
                          str(workers)], env, log_dir)


def start_worker(name: str, env: dict, log_dir: Path, concurrency: int = 2) -> Process:
    return Process(name, [sys.executable, "-m", "celery", "-A", "kameng_api", "worker", "--loglevel=INFO",
                          f"--concurrency={concurrency}", "-n", f"{name}@%h", "--without-gossip",
                          "--without-mingle"], env, log_dir)


def start_beat(name: str, env: dict, log_dir: Path) -> Process:
    return Process(name, [sys.executable, "-m", "celery", "-A", "kameng_api", "beat", "--loglevel=INFO",
                          "--schedule", str(log_dir / f"{name}-schedule")], env, log_dir)


def request(method: str, url: str, body=None, headers=None, timeout: float = 30) -> tuple[int, dict, bytes]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    hdrs = {"Content-Type": "application/json"} if isinstance(body, dict) else {}
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def wait_ready(base_url: str, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.log()[-3000:]}")
        try:
            status, _, _ = request("GET", f"{base_url}/readyz", timeout=5)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{process.name} not ready:\n{process.log()[-3000:]}")


