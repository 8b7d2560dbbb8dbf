"""The Saleor App: Optty on Saleor's Transactions API, as a service of its own.

A Django project (``saleor_optty.app.settings``) that Saleor installs from its manifest
and calls with signed webhooks. It shares the Optty client, the payload builder, the
verified-outcome decision and the ledger's rules with the plugin
(:mod:`saleor_optty.core`, :mod:`saleor_optty.shared`), and knows Saleor only through
its HTTP contract: no Saleor imports.

- :mod:`.saleor`: Saleor's side of the contract: webhook signatures (JWS over JWKS),
  the Dashboard's token, the GraphQL client, the subscriptions and the response rules
  of each Saleor version;
- :mod:`.manifest`, :mod:`.register`: installing into a Saleor;
- :mod:`.handlers`: one module per Saleor webhook, each a use case;
- :mod:`.optty_views`: the shopper's return and Optty's callbacks;
- :mod:`.transitions`: the one place that carries out Optty's verified outcome,
  reporting it to Saleor with ``transactionEventReport``;
- :mod:`.reconcile`, :mod:`.tasks`: outcomes that never arrived, settled later;
- :mod:`.configuration`: the Dashboard page and ``saleor-optty-app configure``;
- :mod:`.cli`: ``saleor-optty-app serve | configure | reconcile``.
"""
