"""The rules both Saleor adapters share, with no Saleor or Django imports.

- :mod:`.decision`: what Optty's verified state means for a payment (paid, pending,
  refused, or money to give back).
- :mod:`.ledger`: the life of a capture, refund or void (requested, then succeeded,
  failed or unknown) and how an unknown one is settled from Optty's own record.
"""
