from django.db import migrations


class Migration(migrations.Migration):
    """The operation's link to its attempt is named ``attempt``, as in the App's ledger
    (both store it through :mod:`saleor_optty.shared.operations`)."""

    dependencies = [("saleor_optty", "0002_operation_ledger")]

    operations = [migrations.RenameField(model_name="opttyoperation", old_name="order", new_name="attempt")]
