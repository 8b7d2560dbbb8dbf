"""Optty buy-now-pay-later payments for Saleor.

``saleor_optty.optty`` knows Optty and nothing of Saleor or Django; the modules beside
it adapt it to Saleor's legacy payment plugin interface.
"""

from .__version__ import __version__

__all__ = ["__version__"]
