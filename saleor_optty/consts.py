"""Names storefronts and merchants depend on; changing one breaks an integration."""

from .optty.status import PaymentStatus

GATEWAY_ID = "optty.payments"
PLUGIN_NAME = "Optty"

#: The Saleor App's manifest ``id``. Saleor stores it as the App's identifier, and
#: storefronts pass it as ``paymentGateway.id`` to ``transactionInitialize``; transactions
#: keep reaching the App by it after a reinstall. It must never change.
APP_ID = "optty.payments.app"
APP_NAME = "Optty"

# Paths under /plugins/channel/<channel-slug>/optty.payments/
RETURN_PATH = "/return"
CALLBACK_PATH = "/callback"
WEBHOOKS_PATH = "/webhooks"

#: The ``status`` a storefront's return URL is given, for each verified Optty status.
STOREFRONT_STATUS = {
    PaymentStatus.SUCCESSFUL: "success",
    PaymentStatus.PENDING: "pending",
    PaymentStatus.DECLINED: "declined",
    PaymentStatus.CANCELLED: "cancelled",
    PaymentStatus.FAILED: "error",
}
