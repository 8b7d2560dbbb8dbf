import sys
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from ....diagnostics import Check, parse_amount, parse_currency, report, run_checks
from ... import saleor_compat as saleor
from ... import webhooks


class Command(BaseCommand):
    help = (
        "Check a channel's Optty configuration: credentials, the providers Optty offers for an "
        "amount, and whether the callback URL is reachable from the internet."
    )

    def add_arguments(self, parser):
        parser.add_argument("--channel", required=True, help="The Saleor channel slug.")
        parser.add_argument(
            "--amount", type=parse_amount, default=Decimal("100"), help="Amount to ask Optty's providers about (default 100)."
        )
        parser.add_argument(
            "--currency", type=parse_currency, help="Currency (default: the channel's first supported currency)."
        )

    def handle(self, *args, channel, amount, currency=None, **options):
        plugin = saleor.channel_plugin(channel)
        if plugin is None:
            raise CommandError(f"No channel {channel!r}, or the Optty plugin is not installed in PLUGINS.")
        config = plugin.config
        # A configuration that cannot work is reported as it is, without asking Optty.
        checks = [Check(field, False, message) for field, message in config.problems().items()]
        currency = (currency or (config.supported_currencies or ("",))[0]).upper()
        if not checks:
            checks = run_checks(
                config.client(),
                amount=amount,
                currency=currency,
                channel=config.optty_channel or None,
                allowed_providers=config.providers,
                payment_secret=config.payment_secret,
                callback_url=webhooks.merchant_webhook_url(channel),
            )
        if not plugin.active:
            checks.append(Check("plugin", True, f"Optty is configured but not active in channel {channel}.", warning=True))
        if not report(checks, self.stdout):
            sys.exit(1)
