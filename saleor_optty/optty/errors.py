"""The errors an Optty call can raise, shaped by what the caller should do next.

Every failure of :class:`~saleor_optty.optty.client.OpttyClient` is one of these;
no ``requests`` exception escapes it.
"""

from __future__ import annotations


class OpttyError(Exception):
    """Base class. ``message`` is safe to show to a merchant; it never holds secrets."""

    #: Whether repeating the same call later may succeed.
    retryable = False

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


class OpttyResponseError(OpttyError):
    """Optty answered with something the client cannot read as the documented shape."""
