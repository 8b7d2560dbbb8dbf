"""Names storefronts and merchants depend on; changing one breaks an integration."""

GATEWAY_ID = "optty.payments"
PLUGIN_NAME = "Optty"

# Paths under /plugins/channel/<channel-slug>/optty.payments/
RETURN_PATH = "/return"
CALLBACK_PATH = "/callback"
WEBHOOKS_PATH = "/webhooks"
