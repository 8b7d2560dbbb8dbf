"""The App's Celery application: reconciliation on a beat schedule.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/1 celery -A saleor_optty.app worker -B

(or a separate ``celery -A saleor_optty.app beat`` beside the workers: run exactly one
beat). The task runs every ``OPTTY_APP_RECONCILE_SECONDS`` (300 by default); each run
looks only at the attempts that are due, and two runs never overlap. Without Celery,
``saleor-optty-app reconcile`` from cron does the same.
"""

import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_optty.app.settings")

app = Celery("saleor_optty.app", include=["saleor_optty.app.tasks"])
# CELERY_* Django settings (the broker URL, and in tests CELERY_TASK_ALWAYS_EAGER).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = {
    "reconcile": {
        "task": "saleor_optty.app.tasks.reconcile",
        "schedule": settings.RECONCILE_EVERY_SECONDS,
        # A run queued while no worker was up is dropped once the next one is due, so a
        # restarted worker does not run a backlog of identical runs.
        "options": {"expires": settings.RECONCILE_EVERY_SECONDS},
    }
}
