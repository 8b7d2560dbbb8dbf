"""A real Saleor for the figures that need one (A5, A9): a lab's code and data, served
for the bench alone.

``SALEOR_LAB`` names a lab (a directory with ``env.sh``, ``src/`` and a database that
``populatedb`` filled; see tests/app_integration/conftest.py). Its database is copied
into one of the bench's own (``saleor_optty_bench_lab``, made afresh each run, dropped at
the end), so that installing the App and configuring the plugin there touch nobody
else's Saleor, and the copy is served by uvicorn in one process on a port of its own,
so that its CPU (``cpu.py``) is the bench's requests' alone. The lab's own server, its
database and its sources are left as they are.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from tests.app_integration.harness import free_port, loopback_session, require_lab, stop_process_group, wait_until

from .cpu import ServerCpu

COPY_NAME = "saleor_optty_bench_lab"


class LabSaleor:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/graphql/"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"saleor-bench-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.cpu: ServerCpu | None = None
        source = self._lab_variable("DATABASE_URL")
        self.source_database = urlsplit(source).path.lstrip("/")
        self.database_url = source.rsplit("/", 1)[0] + "/" + COPY_NAME

    @classmethod
    def from_environment(cls) -> LabSaleor:
        return cls(require_lab())

    def _lab_variable(self, name: str) -> str:
        return subprocess.run(
            ["bash", "-c", f'. "{self.root}/env.sh" && printf %s "${name}"'], capture_output=True, text=True, check=True
        ).stdout

    def start(self) -> None:
        self._copy_database()
        script = (
            f'. "{self.root}/env.sh" && export DATABASE_URL="{self.database_url}" PUBLIC_URL="{self.url}/" '
            f'&& cd "{self.root}/src" && exec uvicorn saleor.asgi:application --host 127.0.0.1 --port {self.port}'
        )
        # Saleor's settings come from env.sh alone.
        environment = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CACHE_URL", "PYTHONPATH"}}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", script], env=environment, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        wait_until(lambda: self.process.poll() is not None or self._answers(), timeout=180, what=f"Saleor on {self.url}")
        if self.process.poll() is not None:
            raise AssertionError(f"Saleor exited with {self.process.returncode}; see {self.log_path}")
        self.cpu = ServerCpu(self.process.pid)

    def _answers(self) -> bool:
        try:
            with loopback_session() as http:
                return http.post(self.api_url, json={"query": "{ __typename }"}, timeout=5).status_code == 200
        except Exception:  # noqa: BLE001 - not serving yet
            return False

    def _copy_database(self) -> None:
        server = self.database_url.rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{COPY_NAME}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{COPY_NAME}"')
        # pg_dump reads a consistent snapshot while the lab's own server keeps running.
        dump = subprocess.Popen(["pg_dump", "--no-owner", f"{server}/{self.source_database}"], stdout=subprocess.PIPE)
        subprocess.run(["psql", "--quiet", "--set", "ON_ERROR_STOP=1", self.database_url], stdin=dump.stdout, check=True, capture_output=True)
        dump.stdout.close()
        assert dump.wait() == 0, "pg_dump failed"

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None
        server = self.database_url.rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{COPY_NAME}" WITH (FORCE)')
