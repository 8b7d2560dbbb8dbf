from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings

RECONCILE_TASK = "saleor_optty.tasks.reconcile_optty_orders"


class OpttyConfig(AppConfig):
    name = "saleor_optty.plugin"
    # The label the plugin's tables and migrations have always had.
    label = "saleor_optty"
    verbose_name = "Optty payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Saleor's beat reads CELERY_BEAT_SCHEDULE; adding the entry here means a merchant
        # gets reconciliation without editing Saleor's settings. OPTTY_RECONCILE_EVERY
        # (a timedelta, or None to turn it off) overrides the interval.
        schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", None)
        every = getattr(settings, "OPTTY_RECONCILE_EVERY", timedelta(minutes=5))
        if isinstance(schedule, dict) and every:
            schedule.setdefault("optty-reconcile", {"task": RECONCILE_TASK, "schedule": every})
