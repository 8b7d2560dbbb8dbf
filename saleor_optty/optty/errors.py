"""The errors an Optty call can raise, shaped by what the caller should do next.

Every failure of :class:`~saleor_optty.optty.client.OpttyClient` is one of these;
no ``requests`` exception escapes it.
"""

from __future__ import annotations


class OpttyError(Exception):
    """Base class. ``message`` is safe to show to a merchant; it never holds secrets."""

    #: Whether repeating the same call later may succeed.
    retryable = False
    #: Whether Optty may have carried out the call although it did not say so.
    outcome_unknown = False

    def __init__(self, message: str, *, status_code: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        #: Optty's own error label, e.g. ``"Unauthorized"``, when it sent one.
        self.code = code

    def __str__(self) -> str:
        if self.status_code:
            return f"{self.message} (HTTP {self.status_code})"
        return self.message


class OpttyAuthenticationError(OpttyError):
    """The client id or secret is wrong, or belongs to the other environment."""


class OpttyValidationError(OpttyError):
    """Optty refused the request; ``message`` is Optty's reason (e.g. over-refund)."""


class OpttyNotFoundError(OpttyError):
    """Optty knows no order with that reference."""


class OpttyUnavailableError(OpttyError):
    """Optty could not be reached or failed on its side; try again later."""

    retryable = True


class OpttyOutcomeUnknownError(OpttyError):
    """A capture, void, refund or new order may have reached Optty, but no usable answer
    came back (a read timeout, a connection dropped after sending, any 5xx).

    Not an :class:`OpttyUnavailableError` on purpose: sending the same money movement
    again could repeat it. Confirm with ``get_order_details`` / ``get_order`` instead.
    """

    retryable = False  # sending it again is exactly what must not happen blindly
    outcome_unknown = True


class OpttyResponseError(OpttyError):
    """Optty answered with something the client cannot read as the documented shape."""
