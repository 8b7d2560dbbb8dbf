import json

from django.core.management.base import BaseCommand, CommandError

from ....optty.redact import audit_payload
from ...models import OpttyNotification, OpttyOrder


class Command(BaseCommand):
    help = "Print everything the plugin knows about one Optty order: attempt, operations and notifications."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="The Optty order reference (shown in Saleor as the payment's PSP reference).")
        parser.add_argument("--payloads", action="store_true", help="Also print what each notification kept of its payload.")

    def handle(self, *args, reference, payloads=False, **options):
        attempt = OpttyOrder.objects.filter(reference=reference).first()
        if attempt is None:
            raise CommandError(f"No Optty order with reference {reference}.")
        write = self.stdout.write
        write(f"Optty order {attempt.reference}")
        write(f"  channel {attempt.channel_slug}, checkout {attempt.checkout_token}, Saleor payment {attempt.payment_id}")
        write(f"  provider {attempt.provider}, {attempt.amount} {attempt.currency}, auto-capture {attempt.auto_capture}")
        write(f"  state {attempt.state}" + (f", finalised {attempt.finalised_at:%Y-%m-%d %H:%M:%S}" if attempt.finalised_at else ""))
        if attempt.resolution:
            write(f"  resolution: {attempt.resolution}")
        if attempt.is_returning:
            write(f"  returning {attempt.return_amount} {attempt.currency}, not yet returned: {attempt.returning}")
        elif attempt.returning:
            write(f"  returned {attempt.return_amount} {attempt.currency}: {attempt.returning}")
        if attempt.rounding_adjustment:
            write(f"  rounding adjustment: {attempt.rounding_adjustment} {attempt.currency}")
        write("Operations:")
        for operation in attempt.operations.all():
            result = operation.status + (f": {operation.error}" if operation.error and not operation.succeeded else "")
            write(f"  {operation.created_at:%Y-%m-%d %H:%M:%S} {operation.kind} {operation.reference} {operation.amount} {operation.currency} ({operation.source}) {result}")
        write("Notifications:")
        for notification in OpttyNotification.objects.filter(reference=reference):
            write(f"  {notification.received_at:%Y-%m-%d %H:%M:%S} {notification.event}: {notification.outcome}")
            # Filtered again: records written before the allow-list hold personal data.
            kept = payloads and audit_payload(notification.payload)
            if kept:
                write("    " + json.dumps(kept, sort_keys=True))
