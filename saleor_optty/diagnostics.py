"""``optty-check``: is this store's Optty set-up going to work? Saleor is not needed.

Each check returns a :class:`Check` whose message is one line a merchant can act on.
:func:`run_checks` is what both front ends call: the ``optty-check`` command below,
which takes the credentials on its command line, and a Saleor management command, which
takes them from a channel's plugin configuration. Secrets are never printed, and
neither is the callback URL's path (its last segment is a key).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TextIO
from urllib.parse import urlsplit

from .consts import GATEWAY_ID, WEBHOOKS_PATH
from .optty import ENVIRONMENTS, OpttyAuthenticationError, OpttyClient, OpttyError
from .optty.money import MoneyError, normalise_currency

CREDENTIALS = "credentials"
PROVIDERS = "providers"
PAYMENT_SECRET = "payment secret"
CALLBACK_URL = "callback URL"

# Host names that never resolve on the public internet (RFC 6761, RFC 6762, RFC 8375).
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".test", ".invalid")


@dataclass(frozen=True)
class Check:
    """One check's verdict. ``warning`` marks a pass that deserves a look."""

    name: str
    ok: bool
    message: str
    warning: bool = False

    @property
    def label(self) -> str:
        return "FAIL" if not self.ok else "warn" if self.warning else "ok"


def check_credentials(client: OpttyClient) -> Check:
    """Ask Optty's token endpoint for an access token with the client id and secret."""
    try:
        client.check_credentials()
    except OpttyAuthenticationError as error:
        return Check(
            CREDENTIALS,
            False,
            f"{error.message}. Copy both from Optty's portal (View profile → View credentials); "
            "sandbox and production credentials differ.",
        )
    except OpttyError as error:
        return Check(CREDENTIALS, False, f"{error.message} Token endpoint: {client.auth_url}.")
    return Check(CREDENTIALS, True, f"Optty's {client.environment} token endpoint accepted the client id and secret.")


def check_providers(
    client: OpttyClient,
    amount: Decimal,
    currency: str,
    *,
    channel: str | None = None,
    allowed: Collection[str] = (),
) -> Check:
    """The providers Optty offers for ``amount`` in ``currency``, within the ``allowed`` list if any."""
    where = f"{amount} {currency}" + (f" on Optty channel {channel!r}" if channel else "")
    try:
        offered = [option.name for option in client.get_options(amount, currency, channel=channel)]
    except (OpttyError, MoneyError) as error:
        return Check(PROVIDERS, False, f"Could not list the providers for {where}: {error}")
    if not offered:
        return Check(
            PROVIDERS,
            False,
            f"Optty offers no provider for {where}; enable one for {currency} and this amount "
            "in Optty's portal (Manage payment methods).",
        )
    wanted = {name.upper() for name in allowed}
    usable = [name for name in offered if not wanted or name in wanted]
    if not usable:
        return Check(
            PROVIDERS,
            False,
            f"None of the allowed providers ({', '.join(sorted(wanted))}) is offered for {where}; "
            f"Optty offers {', '.join(offered)}.",
        )
    missing = sorted(wanted - set(offered))
    note = f" Not offered: {', '.join(missing)}." if missing else ""
    return Check(PROVIDERS, True, f"Offered for {where}: {', '.join(usable)}.{note}", warning=bool(missing))


def check_payment_secret(payment_secret: str | None) -> Check:
    """Optty has no API to test the payment secret; say so, and what a wrong one looks like."""
    if not payment_secret:
        return Check(
            PAYMENT_SECRET,
            True,
            "Not given, so not checked; the plugin refuses every shopper's return without it. "
            "Find it in Optty's portal (View profile → View credentials).",
            warning=True,
        )
    return Check(
        PAYMENT_SECRET,
        True,
        "Set. Optty cannot check it in advance; a wrong one shows as "
        "'The return hash does not match.' on the first return.",
        warning=True,
    )


def check_callback_url(url: str | None, environment: str) -> Check:
    """Whether Optty's servers can plausibly reach ``url``: a failure in production, a warning in sandbox.

    Only the URL's shape is judged (no DNS lookup, no request): this runs where Saleor
    runs, which often cannot see itself the way the internet does.
    """
    if not url:
        return Check(
            CALLBACK_URL,
            True,
            "Not given, so not checked; it is the plugin's Callback URL field in the Dashboard, "
            "pasted into Optty's portal (Admin settings → Webhook/Callback Settings).",
            warning=True,
        )
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    shown = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "this URL"
    if parts.scheme not in ("http", "https") or not host:
        return Check(CALLBACK_URL, False, "Not a URL: it must start with https:// and name a host.")
    problem = _unreachable_host(host)
    if problem is None and parts.scheme != "https":
        problem = "it is not https"
    if problem is not None:
        fix = "set Saleor's PUBLIC_URL to the public https address"
        if environment == "production":
            return Check(CALLBACK_URL, False, f"Optty cannot deliver to {shown}: {problem}; {fix}.")
        return Check(
            CALLBACK_URL,
            True,
            f"Optty's sandbox cannot deliver to {shown}: {problem}. Fine with the emulator; "
            f"for Optty's sandbox, {fix}.",
            warning=True,
        )
    if f"/{GATEWAY_ID}{WEBHOOKS_PATH}/" not in parts.path:
        return Check(
            CALLBACK_URL,
            True,
            f"{shown} looks public, but the path is not the plugin's callback path; "
            "copy the Callback URL field from the plugin's settings in the Dashboard.",
            warning=True,
        )
    return Check(CALLBACK_URL, True, f"{shown} looks publicly reachable.")


def _unreachable_host(host: str) -> str | None:
    """Why ``host`` cannot be reached from the internet, or None when it may be."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
            return f"{host} is a local name"
        if "." not in host:
            return f"{host} is not a public domain name"
        return None
    if address.is_loopback:
        return f"{host} is this machine (loopback)"
    if not address.is_global:
        return f"{host} is a private address"
    return None


def run_checks(
    client: OpttyClient,
    *,
    amount: Decimal,
    currency: str,
    channel: str | None = None,
    allowed_providers: Collection[str] = (),
    payment_secret: str | None = None,
    callback_url: str | None = None,
) -> list[Check]:
    """Every check, in the order a merchant fixes them; providers only once Optty took the credentials."""
    checks = [check_credentials(client)]
    if checks[0].ok:
        checks.append(check_providers(client, amount, currency, channel=channel, allowed=allowed_providers))
    checks.append(check_payment_secret(payment_secret))
    checks.append(check_callback_url(callback_url, client.environment))
    return checks


def report(checks: Sequence[Check], out: TextIO) -> bool:
    """Print one line per check and a verdict; True when nothing failed."""
    width = max(len(check.name) for check in checks)
    for check in checks:
        print(f"  {check.label:<4}  {check.name:<{width}}  {check.message}", file=out)
    failures = sum(not check.ok for check in checks)
    print(f"optty-check: {failures} problem(s) found." if failures else "optty-check: all checks passed.", file=out)
    return not failures


# The command line -------------------------------------------------------------------------


def parse_amount(text: str) -> Decimal:
    """An ``--amount`` argument: a finite amount of at least 1."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount") from None
    if not amount.is_finite() or amount < 1:
        raise argparse.ArgumentTypeError("the amount must be at least 1 (Optty lists no providers below)")
    return amount


def parse_currency(text: str) -> str:
    """A ``--currency`` argument: an ISO 4217 code."""
    try:
        return normalise_currency(text)
    except MoneyError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optty-check",
        description="Check Optty credentials, the providers offered and the callback URL, "
        "one line per check. Exit code 1 when any check fails.",
    )
    parser.add_argument("--environment", choices=sorted(ENVIRONMENTS), default="sandbox")
    parser.add_argument("--client-id", required=True, help="from Optty's portal: View profile → View credentials")
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("OPTTY_CLIENT_SECRET"),
        help="default: $OPTTY_CLIENT_SECRET, which keeps it out of the process list",
    )
    parser.add_argument(
        "--payment-secret",
        default=os.environ.get("OPTTY_PAYMENT_SECRET"),
        help="the hash secret that signs returns (default: $OPTTY_PAYMENT_SECRET)",
    )
    parser.add_argument("--api-url", help="override the environment's API host (e.g. the emulator's)")
    parser.add_argument("--auth-url", help="override the environment's token endpoint")
    parser.add_argument("--amount", type=parse_amount, default=Decimal("100"), help="basket amount (default 100)")
    parser.add_argument("--currency", type=parse_currency, required=True, help="ISO 4217 code, e.g. AUD")
    parser.add_argument("--channel", help="Optty channel alias, when the account has several")
    parser.add_argument(
        "--providers", default="", help="the plugin's allow-list, comma-separated (default: every provider)"
    )
    parser.add_argument("--callback-url", help="the plugin's Callback URL field, as pasted into Optty's portal")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.client_secret:
        parser.error("give --client-secret or set OPTTY_CLIENT_SECRET")
    out = out or sys.stdout
    with OpttyClient(
        args.client_id,
        args.client_secret,
        environment=args.environment,
        api_url=args.api_url,
        auth_url=args.auth_url,
    ) as client:
        print(f"optty-check: {args.environment} ({client.api_url}), client id {args.client_id}", file=out)
        checks = run_checks(
            client,
            amount=args.amount,
            currency=args.currency,
            channel=args.channel,
            allowed_providers=[name.strip() for name in args.providers.split(",") if name.strip()],
            payment_secret=args.payment_secret,
            callback_url=args.callback_url,
        )
    return 0 if report(checks, out) else 1


if __name__ == "__main__":
    raise SystemExit(main())
