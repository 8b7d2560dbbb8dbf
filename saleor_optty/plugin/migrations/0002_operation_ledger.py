from django.db import migrations, models

from saleor_optty.optty.redact import audit_payload


def succeeded_to_status(apps, schema_editor):
    operation = apps.get_model("saleor_optty", "OpttyOperation")
    operation.objects.filter(succeeded=True).update(status="succeeded", in_saleor=True, sends=1)
    # Before the ledger, a failure carried Optty's reason; one without it lost its answer.
    operation.objects.filter(succeeded=False).exclude(error="").update(status="failed", in_saleor=True, sends=1)
    operation.objects.filter(succeeded=False, error="").update(status="unknown", sends=1)


def keep_only_audited_fields(apps, schema_editor):
    # Payloads stored before the allow-list may hold personal data: keep what it keeps.
    notification = apps.get_model("saleor_optty", "OpttyNotification")
    for row in notification.objects.exclude(payload={}).iterator():
        row.payload = audit_payload(row.payload)
        row.save(update_fields=["payload"])


class Migration(migrations.Migration):
    dependencies = [("saleor_optty", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="opttyoperation",
            name="status",
            field=models.CharField(
                choices=[
                    ("requested", "Requested, not yet answered"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("unknown", "Outcome unknown, being confirmed with Optty"),
                ],
                db_index=True,
                default="requested",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="opttyoperation",
            name="record_id",
            field=models.CharField(blank=True, default="", max_length=128),
        ),
        migrations.AddField(
            model_name="opttyoperation", name="sends", field=models.PositiveSmallIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="opttyoperation", name="in_saleor", field=models.BooleanField(default=False)
        ),
        migrations.AddField(
            model_name="opttyoperation", name="settled_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.RunPython(succeeded_to_status, migrations.RunPython.noop),
        migrations.RunPython(keep_only_audited_fields, migrations.RunPython.noop),
        migrations.RemoveField(model_name="opttyoperation", name="succeeded"),
        migrations.AddField(
            model_name="opttyorder",
            name="returning",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddField(
            model_name="opttyorder",
            name="return_amount",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=20, null=True),
        ),
        migrations.AddField(
            model_name="opttyorder", name="next_check_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="opttyorder", name="checks", field=models.PositiveIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="opttyorder", name="sync_due", field=models.BooleanField(default=False)
        ),
        migrations.AddIndex(
            model_name="opttyorder",
            index=models.Index(fields=["finalised_at", "next_check_at"], name="saleor_optt_finalis_168acb_idx"),
        ),
    ]
