"""Processes the slow suites start, each on a port of its own and stopped by the test that started
it: Celery workers, gunicorn, a private Redis, a local endpoint for auth probes, Django itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# The live reliability suite's own ports (tests/reliability/): nobody else's broker or server.
WEB_PORT = 8107
PROBE_PORT = 8108
REDIS_PORT = 6390
HOST = "127.0.0.1"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    """A port nobody listens on now (two runs of the suite on one machine must not meet)."""

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    def __init__(self, name: str, tmp: Path, env: dict, *, beat: bool = True):
        self.log = tmp / f"worker-{name}.log"
        cmd = [
            sys.executable, "-m", "celery", "-A", "releasegate", "worker",
            "--loglevel", "INFO", "--concurrency", "1", "-n", f"{name}@%h",
        ]  # fmt: skip
        if beat:
            cmd += ["--beat", "--schedule", str(tmp / f"beat-{name}")]
        self.proc = subprocess.Popen(  # noqa: S603
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log.read_bytes():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"worker did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL if it does not end in time."""
        self.kill(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def worker_env(tmp_path, broker: str, **extra: str) -> dict:
    """The environment of a worker process on the test database and the given broker."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "RELEASEGATE_DATA_DIR": str(tmp_path / "data"),
        "RELEASEGATE_SWEEP_SECONDS": "1",
        # The tests' repositories are local paths and their hosts git.example.com (tests/conftest.py).
        "RELEASEGATE_ALLOW_LOCAL_REPOSITORIES": "1",
        "RELEASEGATE_GIT_HOSTS": "git.example.com,*.example.org",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


class WorkerPool:
    """Workers a test starts; every one is stopped when the test ends."""

    def __init__(self, tmp_path):
        self.tmp_path, self.workers = tmp_path, []

    def start(self, name: str, env: dict) -> Worker:
        worker = Worker(name, self.tmp_path, env)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()


class ProtectedEndpoint:
    """An endpoint on 127.0.0.1 that answers 401 after `delay` seconds and counts its hits.

    Auth-probe scans in these suites contact only such local endpoints.
    """

    def __init__(self, port: int, *, delay: float = 0.0):
        self.port, self.hits = port, 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint.hits += 1
                time.sleep(delay)
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def urls(self, count: int) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/api/{n}" for n in range(count)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PrivateRedis:
    """A redis-server of this suite's own, so stopping it never touches anyone else's broker."""

    def __init__(self, port: int = REDIS_PORT):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="rg-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        cmd = ["redis-server", "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no",
               "--dir", self.dir]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603
        wait_for(self.ping, 20, "the private redis-server")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=HOST, port=self.port, socket_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None


class Gunicorn:
    def __init__(self, tmp: Path, broker: str, port: int = WEB_PORT, workers: int = 3):
        self.port = port
        self.log = tmp / f"gunicorn-{port}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "RELEASEGATE_DATA_DIR": str(tmp / "data"),
            "RELEASEGATE_ALLOW_LOCAL_REPOSITORIES": "1",
            "RELEASEGATE_GIT_HOSTS": "git.example.com,*.example.org",
            "PYTHONPATH": str(ROOT),
        }
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
               "--bind", f"{HOST}:{port}", "--workers", str(workers), "--max-requests", "0",
               "releasegate.wsgi"]  # fmt: skip
        self.proc = subprocess.Popen(  # noqa: S603
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.answers, 60, "gunicorn")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def answers(self) -> bool:
        try:
            urllib.request.urlopen(self.url + "/healthz", timeout=2)  # noqa: S310
        except urllib.error.HTTPError:
            return True
        except OSError:
            if self.proc.poll() is not None:
                raise AssertionError(self.log.read_text()[-3000:]) from None
            return False
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


def start_django(**env) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process, as gunicorn or manage.py would."""
    unset = {"SECRET_KEY", "DEBUG", "RELEASEGATE_DEMO", "RELEASEGATE_ALLOW_LOCAL_REPOSITORIES", "CACHE_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "releasegate.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
