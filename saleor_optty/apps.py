from django.apps import AppConfig


class OpttyConfig(AppConfig):
    name = "saleor_optty"
    label = "saleor_optty"
    verbose_name = "Optty payments"
    default_auto_field = "django.db.models.BigAutoField"
