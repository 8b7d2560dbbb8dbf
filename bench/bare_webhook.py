"""Bench only: a plugin whose webhook answers 200 at once, the baseline for figure 3a.

A request to ``/plugins/channel/<slug>/<plugin id>/...`` costs Saleor its URL routing,
middleware and plugins manager before any plugin's ``webhook`` runs; this plugin adds
nothing to that, so Optty's callback against it is what the plugin's callback handling
costs.
"""

from django.http import HttpResponse

from saleor.plugins.base_plugin import BasePlugin


class BareWebhookPlugin(BasePlugin):
    PLUGIN_ID = "bench.bare-webhook"
    PLUGIN_NAME = "Bare webhook"
    CONFIGURATION_PER_CHANNEL = True  # reached through the per-channel route, as Optty is
    DEFAULT_ACTIVE = True

    def webhook(self, request, path, previous_value):
        return HttpResponse()
