"""One module per Saleor webhook the App serves, each a use case behind the same gate
(:func:`saleor_optty.app.webhook.saleor_webhook`: signature, event, recipient), each
answering in the shape its Saleor version accepts (:mod:`saleor_optty.app.saleor.responses`).

A payload the App cannot read is answered 400 (:class:`MalformedPayload`); everything
a shopper or staff member can act on is answered 200 with Saleor's ``*_FAILURE`` result
and a message they can read. A 5xx is reserved for the App being broken.
"""

from functools import wraps

from ..models import Attempt, unique_or_none
from ..saleor.events import MalformedPayload
from ..webhook import VerifiedWebhook, webhook_response


def readable_payload(handler):
    """Answers a payload the App cannot read with 400, naming the field."""

    @wraps(handler)
    def handle(request, webhook, *args, **kwargs):
        try:
            return handler(request, webhook, *args, **kwargs)
        except MalformedPayload as error:
            return webhook_response({"error": {"code": "MALFORMED_PAYLOAD", "message": str(error)}}, status=400)

    return handle


def transaction_attempt(webhook: VerifiedWebhook, transaction_id: str) -> Attempt | None:
    """The attempt behind a Saleor transaction of the webhook's installation.

    The installation the gate verified the webhook against is the attempt's own: it is
    used as it is rather than read (and its secrets decrypted) again.
    """
    attempt = unique_or_none(Attempt, installation=webhook.installation, transaction_id=transaction_id)
    if attempt is not None:
        attempt.installation = webhook.installation
    return attempt
