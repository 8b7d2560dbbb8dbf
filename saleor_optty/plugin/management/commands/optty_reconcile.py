from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from ... import reconcile
from ...models import OpttyOrder


class Command(BaseCommand):
    help = (
        "Settle every Optty order that is due: outcomes that never reached Saleor (no return, no callback), "
        "paid orders without a Saleor order, money still to give back, operations whose answer was lost. "
        "Running it again, or twice at once, changes nothing more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-age-minutes", type=int, default=int(reconcile.DEFAULT_MIN_AGE.total_seconds() // 60))
        parser.add_argument("--max-age-days", type=int, default=reconcile.DEFAULT_MAX_AGE.days)
        parser.add_argument(
            "--reference",
            action="append",
            default=[],
            help="Only these Optty references, due or not; also records refunds made in Optty's portal.",
        )

    def handle(self, *args, **options):
        if options["reference"]:
            attempts = list(OpttyOrder.objects.filter(reference__in=options["reference"]))
            missing = set(options["reference"]) - {attempt.reference for attempt in attempts}
            if missing:
                raise CommandError(f"No Optty order with reference {', '.join(sorted(missing))}.")
        else:
            attempts = reconcile.due_attempts(
                min_age=timedelta(minutes=options["min_age_minutes"]), max_age=timedelta(days=options["max_age_days"])
            )
        results = reconcile.reconcile(attempts, read_record=bool(options["reference"]))
        if results is None:
            raise CommandError("Another Optty reconciliation is running; try again when it has finished.")
        for result in results:
            self.stdout.write(f"{result.reference}: {result.status} ({result.message})")
        self.stdout.write(f"optty_reconcile: {len(results)} order(s) checked")
