"""The App as deployed to scale, for the benchmarks: gunicorn with threaded workers (as
``saleor-optty-app serve`` runs it: ``gthread``, 2 workers × 4 threads by default),
PostgreSQL, and Redis as the cache the workers share (Optty's token, Saleor's JWKS
refetch limit, the provider list, settled callbacks).

It serves ``bench.app.wsgi``: the App's settings and URLs plus one bench-only view
(``urls.py``). ``serve`` always takes the App's own settings module, so gunicorn is
started here directly, after ``saleor-optty-app manage migrate`` as ``serve`` does. The
database and the Redis database are the bench's own and start empty on every run.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis

from tests.app_integration.harness import APP_COMMAND, free_port, loopback_session, stop_process_group, wait_until

from .cpu import ServerCpu

REPOSITORY = Path(__file__).resolve().parents[2]


class ServedApp:
    def __init__(self, workdir: Path, *, database_url: str, redis_url: str, workers: int = 2, threads: int = 4):
        self.workdir = workdir
        self.database_url = database_url
        self.redis_url = redis_url
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.manifest_url = f"{self.url}/api/manifest"
        self.log_path = workdir / "app.log"
        self._secret_key = secrets.token_urlsafe(32)
        self.process: subprocess.Popen | None = None
        self.cpu: ServerCpu | None = None

    def environment(self, **extra: str) -> dict[str, str]:
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("OPTTY_") and name not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
        }
        return {
            **inherited,
            "OPTTY_APP_SECRET_KEY": self._secret_key,
            "OPTTY_APP_DATA_DIR": str(self.workdir),
            "OPTTY_APP_URL": self.url,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PYTHONPATH": str(REPOSITORY),
            **extra,
        }

    def start(self) -> None:
        _empty_database(self.database_url)
        redis.Redis.from_url(self.redis_url).flushdb()
        self.run("manage", "migrate", "--verbosity", "0")
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--worker-class", "gthread", "--workers", str(self.workers), "--threads", str(self.threads),
            "--no-control-socket",
            "bench.app.wsgi:application",
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        wait_until(lambda: self.process.poll() is not None or self._healthy(), timeout=120, what="the App to serve")
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
        # gunicorn's master and its workers, as started (a worker gunicorn replaces would be missed).
        wait_until(lambda: len(ServerCpu(self.process.pid).pids) == 1 + self.workers, timeout=60, what="the workers")
        self.cpu = ServerCpu(self.process.pid)

    def worker_pids(self) -> list[int]:
        return [pid for pid in self.cpu.pids if pid != self.process.pid]

    def _healthy(self) -> bool:
        try:
            with loopback_session() as http:
                return http.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except Exception:  # noqa: BLE001 - not serving yet
            return False

    def run(self, *arguments: str, env: dict[str, str] | None = None) -> str:
        """``saleor-optty-app ARGUMENTS`` on this App's database and cache; its stdout."""
        completed = subprocess.run(
            [str(APP_COMMAND), *arguments], cwd=self.workdir, env=self.environment(**(env or {})),
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        if completed.returncode != 0:
            raise AssertionError(f"saleor-optty-app {arguments[0]} failed:\n{completed.stdout}\n{completed.stderr}")
        return completed.stdout

    def configure(
        self, saleor_api_url: str, optty, *, channel: str, currency: str, storefront: str, auto_capture: bool = True
    ) -> None:
        """One channel's Optty configuration, as a merchant sets it (secrets in the environment)."""
        self.run(
            "configure", "--saleor-api-url", saleor_api_url, "--channel", channel, "--environment", "sandbox",
            "--client-id", optty.client_id, "--api-url", optty.api_url, "--auth-url", optty.auth_url,
            "--supported-currencies", currency, "--storefront-url", storefront,
            "--auto-capture" if auto_capture else "--no-auto-capture",
            env={"OPTTY_CLIENT_SECRET": optty.client_secret, "OPTTY_PAYMENT_SECRET": optty.payment_secret},
        )  # fmt: skip

    def log_tail(self, limit: int = 6000) -> str:
        return self.log_path.read_bytes()[-limit:].decode("utf-8", "replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None


def _empty_database(url: str) -> None:
    """Drop and create the bench's own database (never one it did not name itself)."""
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith("saleor_optty_bench"), f"the bench only empties databases of its own, not {name!r}"
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
