"""``saleor-optty-app``: run, configure and look after the Saleor App.

    saleor-optty-app serve --host H --port P [--workers N] [--threads T]
    saleor-optty-app configure --saleor-api-url URL --channel SLUG [settings...]
    saleor-optty-app reconcile
    saleor-optty-app migrate
    saleor-optty-app manage <Django command> [arguments...]

Every command reads the App's settings from the environment
(:mod:`saleor_optty.app.settings`): the working directory's SQLite file unless
``DATABASE_URL`` is set. This interface is documented in README; keep it stable.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from ..core.config import FIELD_TEXT
from ..optty import ENVIRONMENTS

SETTINGS = "saleor_optty.app.settings"
#: Where ``configure`` finds the secrets: never argv, which every user of the machine can read.
SECRET_VARIABLES = {"client_secret": "OPTTY_CLIENT_SECRET", "payment_secret": "OPTTY_PAYMENT_SECRET"}
#: Sized for a small machine (one or two CPUs, a GiB of memory): the App's views spend
#: their time waiting on Optty and Saleor, not computing, so threads carry the
#: concurrency (8 requests in flight) while two processes use both CPUs and keep
#: serving if one is restarted. Each process holds its own database connections.
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
#: ``configure``'s options for the plugin's fields (their help is the plugin's), and what
#: argparse needs besides. An option not given keeps the stored value.
FIELD_OPTIONS = (
    ("--environment", "environment", {"choices": tuple(ENVIRONMENTS)}),
    ("--client-id", "client_id", {}),
    ("--api-url", "api_url", {}),
    ("--auth-url", "auth_url", {}),
    ("--providers", "providers", {}),
    ("--auto-capture", "auto_capture", {"action": argparse.BooleanOptionalAction}),
    ("--supported-currencies", "supported_currencies", {}),
    ("--optty-channel", "optty_channel", {}),
    ("--reference-prefix", "order_reference_prefix", {"metavar": "PREFIX"}),
)


def main(argv: Sequence[str] | None = None) -> int:
    # Always the App's settings: a DJANGO_SETTINGS_MODULE left over from another Django
    # project (Saleor's, say) would otherwise point every command at the wrong database.
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["manage"]:  # everything after it is Django's, --help included
        return manage(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Failure as failure:
        print(f"saleor-optty-app {args.command}: {failure}", file=sys.stderr)
        return 1


class Failure(Exception):
    """What stopped a command, as the one line it prints (exit code 1)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saleor-optty-app", description="The Optty App for Saleor: serve it, configure it, look after it."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve", help="apply the migrations, then serve the App with gunicorn", description=_doc(serve)
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    serve_parser.add_argument("--workers", type=_positive, default=DEFAULT_WORKERS, help="processes (default 2)")
    serve_parser.add_argument("--threads", type=_positive, default=DEFAULT_THREADS, help="threads per process (default 4)")
    serve_parser.set_defaults(run=serve)

    configure_parser = commands.add_parser(
        "configure", help="write one channel's Optty configuration", description=_doc(configure)
    )
    configure_parser.add_argument("--saleor-api-url", required=True, help="the installed Saleor's GraphQL URL")
    configure_parser.add_argument("--channel", required=True, help="the Saleor channel's slug")
    for option, field, extra in FIELD_OPTIONS:
        configure_parser.add_argument(option, dest=field, help=FIELD_TEXT[field].help_text, **extra)
    configure_parser.add_argument(
        "--storefront-url",
        dest="storefront_urls",
        action="append",
        metavar="ORIGIN",
        help="a storefront origin shoppers return to, e.g. https://shop.example.com; repeat for several",
    )
    configure_parser.add_argument(
        "--secrets-stdin",
        action="store_true",
        help="read the secrets from standard input instead of the environment: OPTTY_CLIENT_SECRET=... and "
        "OPTTY_PAYMENT_SECRET=... lines, or prompts when it is a terminal",
    )
    for name in SECRET_VARIABLES:
        # Named so that a mistaken --client-secret is refused with the reason, not as unknown.
        configure_parser.add_argument(f"--{name.replace('_', '-')}", action=_RefuseSecret, help=argparse.SUPPRESS)
    configure_parser.set_defaults(run=configure)

    reconcile_parser = commands.add_parser(
        "reconcile", help="settle the payments whose outcome never arrived, once", description=_doc(reconcile)
    )
    reconcile_parser.set_defaults(run=reconcile)

    migrate_parser = commands.add_parser("migrate", help="apply the App's database migrations")
    migrate_parser.set_defaults(run=migrate)

    # Listed for --help only: main() hands "manage ..." to Django before parsing.
    manage_parser = commands.add_parser("manage", help="run a Django management command (createsuperuser, shell, ...)")
    manage_parser.add_argument("arguments", nargs=argparse.REMAINDER, metavar="DJANGO_COMMAND ...")
    return parser


# ------------------------------------------------------------------------ commands


def serve(args: argparse.Namespace) -> int:
    """Applies the App's migrations, then serves it with gunicorn (threaded workers) on
    HOST:PORT. The App's public URL is $OPTTY_APP_URL, by default http://HOST:PORT."""
    address = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
    if not os.environ.get("OPTTY_APP_URL"):
        os.environ["OPTTY_APP_URL"] = f"http://{address}"
        if args.host in ("0.0.0.0", "::"):
            print(
                f"saleor-optty-app: listening on every address; set OPTTY_APP_URL to the URL Saleor and Optty "
                f"reach the App at (now {os.environ['OPTTY_APP_URL']}).",
                file=sys.stderr,
            )
    _setup()
    from django.core.management import call_command

    # Once, before any worker starts: workers never race to migrate (or to create the
    # generated secret key, which the settings did just now).
    call_command("migrate", interactive=False, verbosity=1)
    sys.stdout.flush()
    sys.stderr.flush()
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        address,
        "--worker-class",
        "gthread",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "saleor_optty.app.wsgi:application",
    ]
    if _gunicorn_version() >= (25, 1):
        # gunicorn 25.1's control socket sits in $HOME by default, where every instance on
        # the machine would take it over from the one before; the App does not use it.
        gunicorn.insert(-1, "--no-control-socket")
    # gunicorn takes this process's place, so signals (SIGTERM from a supervisor) reach it directly.
    os.execv(sys.executable, gunicorn)


def configure(args: argparse.Namespace) -> int:
    """Writes one channel's Optty configuration for a Saleor that installed the App,
    after Optty has accepted the credentials. The secrets come from OPTTY_CLIENT_SECRET and
    OPTTY_PAYMENT_SECRET (or standard input, with --secrets-stdin), never from the command
    line; unset, a stored secret is kept. Prints the callback URL to paste into Optty's
    portal; on a problem, one line per field and exit code 1."""
    secrets = _secrets_from(sys.stdin) if args.secrets_stdin else _secrets_from_environment()
    _setup()
    from .configuration import service
    from .models import Installation

    installation = Installation.objects.filter(saleor_api_url=args.saleor_api_url).first()
    if installation is None:
        installed = ", ".join(Installation.objects.values_list("saleor_api_url", flat=True)) or "none"
        raise Failure(
            f"no Saleor at {args.saleor_api_url} has installed the App (installed: {installed}). "
            "Install it from its manifest first."
        )
    given = {field: getattr(args, field) for field in service.FIELD_NAMES if getattr(args, field, None) is not None}
    values = {**given, **secrets}
    result = service.save(installation, args.channel, values)
    if not result.saved:
        for field, message in result.problems.items():
            print(f"{field}: {message}", file=sys.stderr)
        return 1
    print(
        f"saleor-optty-app configure: saved channel {args.channel}; Optty accepted the credentials. "
        "Paste the callback URL below into Optty's portal (Admin settings → Webhook/Callback Settings).",
        file=sys.stderr,
    )
    print(service.callback_url(result.configuration))
    return 0


def reconcile(args: argparse.Namespace) -> int:
    """Settles, once, every payment whose outcome never reached Saleor (run it from cron
    when the Celery beat does not run)."""
    _setup()
    from .tasks import reconcile_once

    counts = reconcile_once()
    if counts is None:
        raise Failure("another run is in progress; try again when it has finished.")
    by_status = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    print(f"saleor-optty-app reconcile: {sum(counts.values())} checked" + (f" ({by_status})" if counts else ""))
    return 0


def migrate(args: argparse.Namespace) -> int:
    _setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False)
    return 0


def manage(arguments: Sequence[str]) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["saleor-optty-app manage", *arguments])
    return 0


# ------------------------------------------------------------------------ helpers


def _setup() -> None:
    import django
    from django.apps import apps

    if not apps.ready:  # called from a process that has set Django up already (a test, a shell)
        django.setup()


def _gunicorn_version() -> tuple[int, ...]:
    import gunicorn

    return tuple(gunicorn.version_info)


def _doc(function) -> str:
    return " ".join(function.__doc__.split())


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return number


def _port(text: str) -> int:
    port = _positive(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535)")
    return port


class _RefuseSecret(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(
            f"{option_string} is not accepted: the command line is visible to every user of this machine. "
            "Set OPTTY_CLIENT_SECRET and OPTTY_PAYMENT_SECRET, or pass --secrets-stdin."
        )


def _secrets_from_environment() -> dict[str, str]:
    return {field: os.environ[variable] for field, variable in SECRET_VARIABLES.items() if os.environ.get(variable)}


def _secrets_from(stdin: TextIO) -> dict[str, str]:
    """The secrets from standard input: prompted for on a terminal, else NAME=value lines."""
    if stdin.isatty():
        prompted = {
            field: getpass.getpass(f"{variable} (empty keeps the stored one): ")
            for field, variable in SECRET_VARIABLES.items()
        }
        return {field: value for field, value in prompted.items() if value}
    fields = {variable: field for field, variable in SECRET_VARIABLES.items()}
    secrets = {}
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        name, separator, value = line.partition("=")
        if not separator or name.strip() not in fields:
            # The line is not echoed: it may hold a secret.
            raise Failure(f"line {number} of standard input is not OPTTY_CLIENT_SECRET=... or OPTTY_PAYMENT_SECRET=...")
        if value.strip():
            secrets[fields[name.strip()]] = value.strip()
    return secrets


if __name__ == "__main__":
    raise SystemExit(main())
