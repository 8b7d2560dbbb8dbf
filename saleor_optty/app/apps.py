from django.apps import AppConfig


class OpttyAppConfig(AppConfig):
    name = "saleor_optty.app"
    label = "optty_app"
    verbose_name = "Optty for Saleor (App)"
    default_auto_field = "django.db.models.BigAutoField"
