"""What the plugin and the App share that needs Django but knows nothing of Saleor.

Both adapters are Django applications: the plugin runs inside Saleor's Django project,
the App is a Django project of its own. Each keeps its own tables, built on the abstract
models here, and both use the same code to store the ledger (:mod:`.operations`), list
providers (:mod:`.providers`), authenticate and audit Optty's callbacks
(:mod:`.callbacks`) and schedule reconciliation (:mod:`.reconciliation`). The rules
themselves (what Optty's answer means, how a lost answer is settled) are
:mod:`saleor_optty.core`'s, which knows no Django either.
"""
