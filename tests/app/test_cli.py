"""``saleor-optty-app``, as a user runs it: ``serve`` as a real process (SQLite in the
working directory, PostgreSQL, two workers), ``configure`` against the Optty emulator,
``reconcile``."""

import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from saleor_optty.app import cli
from saleor_optty.app.models import ChannelConfiguration

APP_COMMAND = Path(sys.executable).parent / "saleor-optty-app"
#: Nothing listens here: the App's best-effort calls to Saleor fail at once.
NO_SALEOR = "http://127.0.0.1:9/graphql/"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def app_environment(**extra):
    """This environment without any of the App's settings (the test suite sets some)."""
    cleared = ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPTTY_", "DJANGO_")) and name not in cleared
    }
    return {**env, **extra}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url, timeout=5):
    # A new connection each time (urllib sends Connection: close), so any worker may take it.
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, json.loads(response.read())


@dataclass
class Served:
    process: subprocess.Popen
    url: str
    log: Path


@contextmanager
def serving(workdir, *options, env):
    port = free_port()
    log = workdir / "serve.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [str(APP_COMMAND), "serve", "--host", "127.0.0.1", "--port", str(port), *options],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"serve exited with {process.returncode}:\n{log.read_text()}"
            try:
                get(served.url + "/healthz", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, f"serve never answered:\n{log.read_text()}"
                time.sleep(0.2)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_app(*arguments, cwd, env, stdin=None):
    return subprocess.run(
        [str(APP_COMMAND), *arguments], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def workers_of(master_pid):
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == master_pid:
            children.append(int(stat.parent.name))
    return sorted(children)


# ------------------------------------------------------------------------- serve


def test_serve_migrates_a_sqlite_file_in_the_working_directory_then_serves(tmp_path):
    with serving(tmp_path, env=app_environment()) as app:
        assert get(app.url + "/healthz") == (200, {"status": "ok"})
        status, manifest = get(app.url + "/api/manifest")

    assert status == 200
    # The public URL defaults to http://HOST:PORT.
    assert manifest["appUrl"] == app.url + "/configuration"
    assert manifest["tokenTargetUrl"].startswith(app.url + "/")
    with sqlite3.connect(tmp_path / "saleor-optty-app.sqlite3") as database:
        applied = set(database.execute("SELECT app, name FROM django_migrations"))
    assert ("optty_app", "0001_initial") in applied


def test_serve_takes_its_public_url_from_the_environment(tmp_path):
    env = app_environment(OPTTY_APP_URL="https://optty-app.example.com", OPTTY_APP_ALLOWED_HOSTS="127.0.0.1")

    with serving(tmp_path, env=env) as app:
        status, manifest = get(app.url + "/api/manifest")

    assert manifest["appUrl"] == "https://optty-app.example.com/configuration"


@pytest.fixture
def postgres_url():
    """A database of this test's own on the suite's PostgreSQL server, made empty."""
    psycopg = pytest.importorskip("psycopg")
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/saleor_optty"
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/')}_serve"
    try:
        admin = psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if CI:
            pytest.fail(f"PostgreSQL is not answering: {error}")
        pytest.skip(f"PostgreSQL is not answering: {error}")
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def test_serve_on_postgresql(tmp_path, postgres_url):
    import psycopg

    with serving(tmp_path, env=app_environment(DATABASE_URL=postgres_url)) as app:
        assert get(app.url + "/healthz") == (200, {"status": "ok"})

    assert not (tmp_path / "saleor-optty-app.sqlite3").exists()
    with psycopg.connect(postgres_url) as database:
        applied = set(database.execute("SELECT app, name FROM django_migrations"))
    assert ("optty_app", "0001_initial") in applied


def test_serve_with_two_workers_each_of_which_answers(tmp_path):
    with serving(tmp_path, "--workers", "2", "--threads", "2", env=app_environment()) as app:
        deadline = time.monotonic() + 30
        while len(workers := workers_of(app.process.pid)) < 2:
            assert time.monotonic() < deadline, f"not two workers: {workers}"
            time.sleep(0.2)
        assert len(workers) == 2
        for answering in workers:
            # The other worker stopped, only this one can take the connections.
            stopped = [pid for pid in workers if pid != answering]
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            try:
                for _ in range(3):
                    assert get(app.url + "/healthz") == (200, {"status": "ok"})
            finally:
                for pid in stopped:
                    os.kill(pid, signal.SIGCONT)


# --------------------------------------------------------------------- configure


def configure_arguments(optty, saleor_api_url, *extra):
    return [
        "configure",
        "--saleor-api-url",
        saleor_api_url,
        "--channel",
        "default-channel",
        "--client-id",
        optty.client_id,
        "--api-url",
        optty.api_url,
        "--auth-url",
        optty.auth_url,
        "--supported-currencies",
        "AUD,NZD",
        "--storefront-url",
        "https://shop.example.com",
        *extra,
    ]


def test_configure_end_to_end_prints_the_callback_url_and_stores_the_secrets_encrypted(tmp_path, optty):
    env = app_environment(OPTTY_APP_URL="https://optty-app.example.com")
    assert run_app("migrate", cwd=tmp_path, env=env).returncode == 0
    created = run_app(
        "manage",
        "shell",
        "-c",
        "from saleor_optty.app.models import Installation; "
        f"Installation.objects.create(saleor_api_url={NO_SALEOR!r}, app_id='QXBwOjE=', token='saleor-app-token')",
        cwd=tmp_path,
        env=env,
    )
    assert created.returncode == 0, created.stderr

    result = run_app(
        *configure_arguments(optty, NO_SALEOR, "--providers", "KLARNA"),
        cwd=tmp_path,
        env={**env, "OPTTY_CLIENT_SECRET": optty.client_secret, "OPTTY_PAYMENT_SECRET": optty.payment_secret},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("https://optty-app.example.com/")
    assert len(result.stdout.strip().splitlines()) == 1  # the URL alone, for scripts
    with sqlite3.connect(tmp_path / "saleor-optty-app.sqlite3") as database:
        row = database.execute(
            f"SELECT client_id, client_secret, payment_secret, providers FROM {ChannelConfiguration._meta.db_table}"
        ).fetchone()
    client_id, client_secret, payment_secret, providers = row
    assert (client_id, providers) == (optty.client_id, "KLARNA")
    assert client_secret and optty.client_secret not in client_secret
    assert payment_secret and optty.payment_secret not in payment_secret


@pytest.fixture
def saleor_version():
    return "3.23.28"


@pytest.fixture
def installation(installed_app):
    return installed_app.installation


@pytest.fixture
def in_process(monkeypatch):
    """Runs the command line in this process, on the test database, with a clean environment."""
    for name in list(os.environ):
        if name.startswith("OPTTY_CLIENT_") or name.startswith("OPTTY_PAYMENT_"):
            monkeypatch.delenv(name)
    # main() points DJANGO_SETTINGS_MODULE at the App's settings; put it back afterwards.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"))

    def run(*arguments, stdin="", **env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return cli.main(list(arguments))

    return run


def test_configure_refuses_a_secret_optty_refuses_with_optty_s_message(installation, optty, in_process, capsys):
    code = in_process(
        *configure_arguments(optty, installation.saleor_api_url), OPTTY_CLIENT_SECRET="not-the-secret", OPTTY_PAYMENT_SECRET=optty.payment_secret
    )

    assert code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("client_secret: Optty refused the client id and secret for the sandbox environment")
    assert not ChannelConfiguration.objects.exists()


def test_configure_says_every_problem_one_line_each(installation, optty, in_process, capsys):
    code = in_process(
        *configure_arguments(
            optty,
            installation.saleor_api_url,
            "--supported-currencies",
            "dollars",
            "--storefront-url",
            "http://shop.example.com/x",
        )
    )

    assert code == 1
    problems = dict(line.split(": ", 1) for line in capsys.readouterr().err.splitlines())
    assert set(problems) == {"client_secret", "payment_secret", "supported_currencies", "storefront_urls"}
    assert problems["client_secret"].startswith("Client secret is required")


@pytest.mark.parametrize(
    "secret_arguments", [["--client-secret", "s3cr3t"], ["--payment-secret", "s3cr3t"], ["--client-secret=s3cr3t"]]
)
def test_configure_refuses_secrets_on_the_command_line(installation, optty, in_process, capsys, secret_arguments):
    with pytest.raises(SystemExit) as exited:
        in_process(*configure_arguments(optty, installation.saleor_api_url), *secret_arguments)

    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "is not accepted: the command line is visible to every user of this machine" in error
    assert "s3cr3t" not in error
    assert not ChannelConfiguration.objects.exists()


def test_configure_reads_the_secrets_from_standard_input(installation, optty, in_process, capsys):
    secrets = f"OPTTY_CLIENT_SECRET={optty.client_secret}\n\nOPTTY_PAYMENT_SECRET={optty.payment_secret}\n"

    code = in_process(*configure_arguments(optty, installation.saleor_api_url), "--secrets-stdin", stdin=secrets)

    assert code == 0, capsys.readouterr().err
    stored = ChannelConfiguration.objects.get()
    assert (stored.client_secret, stored.payment_secret) == (optty.client_secret, optty.payment_secret)


def test_configure_does_not_echo_a_line_of_standard_input_it_cannot_read(installation, optty, in_process, capsys):
    code = in_process(*configure_arguments(optty, installation.saleor_api_url), "--secrets-stdin", stdin="client secret: s3cr3t\n")

    assert code == 1
    error = capsys.readouterr().err
    assert "line 1 of standard input is not OPTTY_CLIENT_SECRET=..." in error
    assert "s3cr3t" not in error


def test_configure_again_changes_only_what_it_is_given(installation, optty, in_process, capsys):
    secrets = {"OPTTY_CLIENT_SECRET": optty.client_secret, "OPTTY_PAYMENT_SECRET": optty.payment_secret}
    assert in_process(*configure_arguments(optty, installation.saleor_api_url), **secrets) == 0
    for name in secrets:
        os.environ.pop(name)

    code = in_process(
        "configure", "--saleor-api-url", installation.saleor_api_url, "--channel", "default-channel", "--no-auto-capture"
    )

    assert code == 0, capsys.readouterr().err
    stored = ChannelConfiguration.objects.get()
    assert stored.auto_capture is False
    assert (stored.client_secret, stored.supported_currencies) == (optty.client_secret, "AUD,NZD")


def test_configure_needs_an_installed_saleor(installation, optty, in_process, capsys):
    code = in_process(
        "configure", "--saleor-api-url", "https://other.example.com/graphql/", "--channel", "default-channel"
    )

    assert code == 1
    error = capsys.readouterr().err
    assert "no Saleor at https://other.example.com/graphql/ has installed the App" in error
    assert f"(installed: {installation.saleor_api_url})" in error


# --------------------------------------------------------------------- reconcile


@pytest.mark.django_db
def test_reconcile_runs_once_and_says_how_many_it_checked(in_process, capsys):
    assert in_process("reconcile") == 0
    assert capsys.readouterr().out == "saleor-optty-app reconcile: 0 checked\n"


def test_reconcile_is_a_celery_beat_task_every_five_minutes():
    from saleor_optty.app import tasks
    from saleor_optty.app.celery import app

    entry = app.conf.beat_schedule["reconcile"]

    assert entry["task"] == tasks.reconcile.name
    assert entry["task"] in app.tasks  # registered, so a worker runs what beat sends
    assert entry["schedule"] == 300


def test_the_beat_interval_comes_from_the_environment(tmp_path):
    probe = "from saleor_optty.app.celery import app; print(app.conf.beat_schedule['reconcile']['schedule'])"

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=app_environment(OPTTY_APP_RECONCILE_SECONDS="60"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip() == "60", result.stderr


@pytest.mark.django_db
def test_the_reconcile_task_runs_eagerly():
    from saleor_optty.app import tasks

    result = tasks.reconcile.apply()

    assert result.successful(), result.traceback
    assert result.get() == {}
