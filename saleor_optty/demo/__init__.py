"""``make demo`` (``python -m saleor_optty.demo``): one checkout through the plugin's Optty
flow, end to end, with no Saleor and no Optty account.

The walk-through starts :class:`~saleor_optty.emulator.OpttyEmulator` and a
:class:`DemoShop` on free local ports, builds the Optty order from a sample
Saleor-priced cart, approves it on the hosted page the way a browser does, verifies the
return, receives Optty's callback, re-checks the order with Optty's API and prints the
final state. Its last line says whether the payment succeeded; the exit code agrees.
"""

from .shop import DemoShop, ReturnResult, confirm_return
from .walkthrough import main

__all__ = ["DemoShop", "ReturnResult", "confirm_return", "main"]
