from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from ... import reconcile, transitions
from ... import saleor_compat as saleor
from ...models import OpttyOrder
from ...optty import OpttyError


class Command(BaseCommand):
    help = (
        "Ask Optty for every order whose outcome never reached Saleor (no return, no callback) "
        "and apply it. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-age-minutes", type=int, default=int(reconcile.DEFAULT_MIN_AGE.total_seconds() // 60))
        parser.add_argument("--max-age-days", type=int, default=reconcile.DEFAULT_MAX_AGE.days)
        parser.add_argument(
            "--reference",
            action="append",
            default=[],
            help="Only these Optty references, whatever their age; also records refunds made in Optty's portal.",
        )

    def handle(self, *args, **options):
        if options["reference"]:
            attempts = list(OpttyOrder.objects.filter(reference__in=options["reference"]))
            missing = set(options["reference"]) - {attempt.reference for attempt in attempts}
            if missing:
                raise CommandError(f"No Optty order with reference {', '.join(sorted(missing))}.")
            unfinished = [attempt for attempt in attempts if attempt.finalised_at is None]
        else:
            attempts = []
            unfinished = reconcile.stale_attempts(
                timedelta(minutes=options["min_age_minutes"]), timedelta(days=options["max_age_days"])
            )
        results = reconcile.reconcile(unfinished)
        for result in results:
            self.stdout.write(f"{result.reference}: {result.status} ({result.message})")
        for attempt in attempts:
            self._sync_refunds(attempt)
        self.stdout.write(f"optty_reconcile: {len(results)} order(s) checked")

    def _sync_refunds(self, attempt):
        plugin = saleor.active_plugin(attempt.channel_slug)
        if plugin is None:
            return
        try:
            recorded = transitions.sync_refunds(plugin.client, attempt.reference)
        except OpttyError as error:
            raise CommandError(f"{attempt.reference}: Optty could not list its refunds: {error.message}") from None
        for operation in recorded:
            self.stdout.write(f"{attempt.reference}: refund {operation.reference} of {operation.amount} {operation.currency} recorded")
