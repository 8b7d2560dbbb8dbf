"""``optty-emulator`` / ``python -m saleor_optty.emulator``: run the sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Sequence

from .emulator import OpttyEmulator
from .faults import DUPLICATE_MODES
from .providers import load_providers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optty-emulator",
        description="A local Optty sandbox: token, options, orders, capture/void/refund, "
        "a hosted approval page, callbacks and fault knobs (see /_emulator/).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port to bind; 0 picks a free one (default 8765)"
    )
    parser.add_argument("--client-id", default="emulator-client")
    parser.add_argument("--client-secret", default="emulator-secret")
    parser.add_argument(
        "--payment-secret", default="emulator-payment-secret", help="key of the return-URL hash"
    )
    parser.add_argument("--webhook-url", help="merchant webhook for ORDER_STATUS_UPDATE and REFUND_CALLBACK")
    parser.add_argument("--token-ttl", type=int, default=86400, help="access-token lifetime in seconds")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API call")
    parser.add_argument("--providers-file", help="JSON list of providers replacing the default catalogue")
    parser.add_argument(
        "--public-url", help="base URL to put in redirectUrl when clients reach the emulator by another name"
    )
    parser.add_argument(
        "--callback-backoff", type=float, default=1.0, help="first callback retry delay in seconds"
    )
    parser.add_argument("--callback-max-attempts", type=int, default=8)
    parser.add_argument(
        "--echo-references",
        action="store_true",
        help="also list capture/refund references and the voids in order details (Optty documents neither)",
    )
    parser.add_argument(
        "--duplicate-references",
        choices=DUPLICATE_MODES,
        default="replay",
        help="what a repeated order/capture/void/refund reference gets (default replay)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log each request line and callback delivery to stderr"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    emulator = OpttyEmulator(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        payment_secret=args.payment_secret,
        webhook_url=args.webhook_url,
        token_ttl=args.token_ttl,
        providers=load_providers(args.providers_file) if args.providers_file else None,
        latency=args.latency,
        public_url=args.public_url,
        callback_backoff=args.callback_backoff,
        callback_max_attempts=args.callback_max_attempts,
        echo_references=args.echo_references,
        duplicate_references=args.duplicate_references,
        verbose=args.verbose,
    )
    # Handlers first: a Ctrl-C that lands as soon as the banner appears must still stop cleanly.
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        emulator.start()
    except OSError as error:
        print(
            f"optty-emulator: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    # These are the emulator's own sandbox credentials, printed so a developer can paste
    # them into the plugin settings; they are never logged per request.
    print(f"Optty emulator listening on {emulator.url}", flush=True)
    print(f"  auth URL:       {emulator.auth_url}")
    print(f"  API URL:        {emulator.api_url}")
    print(f"  client id:      {emulator.client_id}")
    print(f"  client secret:  {emulator.client_secret}")
    print(f"  payment secret: {emulator.payment_secret}")
    print(f"  control API:    {emulator.url}/_emulator/stats")
    print("Press Ctrl-C to stop.", flush=True)

    try:
        while not stopping.wait(0.5):
            pass
    finally:
        emulator.stop()
    print("Optty emulator stopped.", flush=True)
    return 0
