"""The legacy Saleor plugin: a Django app that runs inside Saleor (``saleor.plugins`` entry point).

- :mod:`.gateway`: the plugin class, configuration and routing only;
- :mod:`.webhooks`: the shopper's return and Optty's callbacks;
- :mod:`.transitions`: the one place that carries out Optty's verified outcome in Saleor;
- :mod:`.reconcile`, :mod:`.tasks`, :mod:`.management`: reconciliation and support commands;
- :mod:`.saleor_compat`: every Saleor import, and the differences between Saleor versions.

Importing this package imports nothing of Saleor: Django loads it as an installed app.
"""
