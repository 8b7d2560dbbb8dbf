"""Figure 5: what constructing the plugin costs, since Saleor constructs every plugin per request."""

from saleor.plugins.base_plugin import BasePlugin
from saleor.plugins.models import PluginConfiguration
from saleor_optty.consts import GATEWAY_ID
from saleor_optty.plugin.gateway import OpttyGatewayPlugin

from .measure import CpuClock, compare

CONSTRUCTIONS = 1000  # per sample: one construction is a few microseconds


class BarePlugin(BasePlugin):
    """A plugin that adds nothing to BasePlugin, with the Optty plugin's configuration fields."""

    PLUGIN_ID = "bench.bare"
    PLUGIN_NAME = "Bare"
    CONFIGURATION_PER_CHANNEL = True
    DEFAULT_CONFIGURATION = OpttyGatewayPlugin.DEFAULT_CONFIGURATION
    CONFIG_STRUCTURE = OpttyGatewayPlugin.CONFIG_STRUCTURE


def constructing(plugin_class, configuration, channel) -> CpuClock:
    """Construct the plugin as Saleor's PluginsManager does, from the stored configuration."""
    clock = CpuClock()
    with clock.running():
        for _ in range(CONSTRUCTIONS):
            plugin_class(configuration=configuration, active=True, channel=channel)
    return clock


def test_plugin_construction(optty_plugin, channel_USD, record, repeats):
    stored = PluginConfiguration.objects.get(identifier=GATEWAY_ID, channel=channel_USD).configuration
    result = compare(
        lambda: constructing(BarePlugin, stored, channel_USD),
        lambda: constructing(OpttyGatewayPlugin, stored, channel_USD),
        repeats=repeats,
    )
    record(
        "plugin_construction",
        result.ratio,
        result.detail("Optty", "bare") + f", per {CONSTRUCTIONS} constructions of {len(stored)} fields",
    )
