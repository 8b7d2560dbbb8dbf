"""Everything that knows Optty's API, and nothing of Saleor or Django.

The public surface::

    from saleor_optty.optty import OpttyClient, OrderRequest, PaymentStatus, verify_return
"""

from .client import ENVIRONMENTS, FAST_POLICY, HttpPolicy, OpttyClient
from .errors import (
    OpttyAuthenticationError,
    OpttyError,
    OpttyNotFoundError,
    OpttyOutcomeUnknownError,
    OpttyResponseError,
    OpttyUnavailableError,
    OpttyValidationError,
)
from .money import MoneyError
from .redirect import InvalidRedirectError, ReturnParameters, verify_return
from .status import PaymentStatus, normalise_status
from .tokens import MemoryTokenStore, TokenStore
from .types import (
    Address,
    Capture,
    CreatedOrder,
    Customer,
    CustomerSession,
    OperationResult,
    OrderDetails,
    OrderItem,
    OrderRequest,
    OrderStatus,
    PaymentOption,
    Refund,
    SumRuleError,
    Void,
)
from .verification import payment_mismatch

__all__ = [
    "ENVIRONMENTS",
    "FAST_POLICY",
    "Address",
    "Capture",
    "CreatedOrder",
    "Customer",
    "CustomerSession",
    "HttpPolicy",
    "InvalidRedirectError",
    "MemoryTokenStore",
    "MoneyError",
    "OperationResult",
    "OpttyAuthenticationError",
    "OpttyClient",
    "OpttyError",
    "OpttyNotFoundError",
    "OpttyOutcomeUnknownError",
    "OpttyResponseError",
    "OpttyUnavailableError",
    "OpttyValidationError",
    "OrderDetails",
    "OrderItem",
    "OrderRequest",
    "OrderStatus",
    "PaymentOption",
    "PaymentStatus",
    "Refund",
    "ReturnParameters",
    "SumRuleError",
    "TokenStore",
    "Void",
    "normalise_status",
    "payment_mismatch",
    "verify_return",
]
