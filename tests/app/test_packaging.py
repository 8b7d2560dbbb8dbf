"""What ``pip install "saleor-optty[app]"`` installs serves the App: its page, script,
logo and migrations are in the wheel, not only in this checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Run from the installed copy only (the checkout is not on the path): the page renders,
#: its script and the logo are served, and the App's migrations apply.
SERVE_FROM_INSTALLED = """
import os, sys
os.environ.update(DJANGO_SETTINGS_MODULE="saleor_optty.app.settings", OPTTY_APP_URL="http://testserver",
                  OPTTY_APP_SECRET_KEY="packaging-test", DATABASE_URL="sqlite:///" + sys.argv[1] + "/app.sqlite3")
import django, saleor_optty
assert saleor_optty.__file__.startswith(sys.argv[2]), saleor_optty.__file__
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
client = Client()
for path in ("/configuration", "/configuration/static/configuration.js", "/brand/logo.png", "/api/manifest"):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
print("served")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("saleor_optty-*.whl")
    return built


def test_the_wheel_carries_the_app_s_page_script_logo_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "saleor_optty/app/templates/optty_app/configuration.html",
        "saleor_optty/app/static/optty_app/configuration.js",
        "saleor_optty/app/static/optty_app/logo.png",
        "saleor_optty/app/migrations/0001_initial.py",
        "saleor_optty/plugin/migrations/0003_operation_attempt.py",
    ):
        assert expected in names, f"{expected} is not in {wheel.name}"
    assert not any(name.startswith(("tests/", "bench/")) for name in names)


def test_the_installed_app_serves_its_page_without_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-c", SERVE_FROM_INSTALLED, str(tmp_path), str(target)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout.strip() == "served", done.stderr[-2000:]
