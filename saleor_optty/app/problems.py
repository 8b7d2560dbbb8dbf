"""Problems only the merchant can fix, shown on the App's page in Saleor's Dashboard.

Saleor 3.22 and later keep an App's problems (``appProblemCreate``); on older Saleor the
client sends nothing, and the log line is all there is. The payment flow calls these
functions where it meets a problem, so they are cheap and safe there:

- at most one call to Saleor per problem, channel and :data:`REPORT_EVERY_SECONDS`, decided
  in Django's cache (shared by the workers when a shared cache is configured), so a
  busy shop does not call Saleor on every request;
- Optty being unreachable is reported only once failures have gone on for a while
  (:data:`UNREACHABLE_MIN_FAILURES` failures over at least :data:`UNREACHABLE_MIN_SECONDS`),
  never for one blip;
- they never raise: a problem that cannot be reported is logged, and the payment goes on.

Saleor counts repeats of one problem key within its aggregation period; a problem turns
critical (the Dashboard shows it so) at ``criticalThreshold`` repeats. Saving the
channel's configuration dismisses its problems.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from functools import wraps

from django.core.cache import cache

from ..optty import OpttyError
from .models import ChannelConfiguration, Installation
from .saleor.client import SaleorClient, SaleorError

logger = logging.getLogger(__name__)

#: At most one report per problem and channel this often.
REPORT_EVERY_SECONDS = 10 * 60
#: Optty counts as unreachable for long after this many failures ...
UNREACHABLE_MIN_FAILURES = 5
#: ... spread over at least this long ...
UNREACHABLE_MIN_SECONDS = 5 * 60
#: ... none of them further than this from the one before (a longer quiet spell starts over).
UNREACHABLE_GAP_SECONDS = 15 * 60

MISSING_CONFIGURATION = "configuration-missing"
CREDENTIALS_REFUSED = "credentials-refused"
OPTTY_UNREACHABLE = "optty-unreachable"
KINDS = (MISSING_CONFIGURATION, CREDENTIALS_REFUSED, OPTTY_UNREACHABLE)

#: Saleor's limit on a problem key.
_MAX_KEY_LENGTH = 128


def _never_raises(function: Callable[..., None]) -> Callable[..., None]:
    @wraps(function)
    def guarded(*args, **kwargs) -> None:
        try:
            function(*args, **kwargs)
        except Exception as error:  # never into the payment path that met the problem
            logger.warning("Could not tell Saleor about a problem (%s): %s", function.__name__, _describe(error))

    return guarded


@_never_raises
def report_missing_configuration(installation: Installation, channel_slug: str) -> None:
    """Channel ``channel_slug`` receives payment webhooks but has no Optty configuration."""
    _report(
        installation,
        MISSING_CONFIGURATION,
        channel_slug,
        f"Shoppers on channel {channel_slug!r} are offered Optty, but Optty is not configured for this channel. "
        "Open the Optty app, choose this channel and save its configuration.",
        critical_threshold=1,
    )


@_never_raises
def report_optty_refused_credentials(configuration: ChannelConfiguration, message: str) -> None:
    """Optty refused the channel's client id and secret (``message``: the client's error text)."""
    _report(
        configuration.installation,
        CREDENTIALS_REFUSED,
        configuration.channel_slug,
        f"Optty payments on channel {configuration.channel_slug!r} fail: {_sentence(message)} "
        "Copy the client ID and secret from Optty's portal (View profile → View credentials) "
        "into the Optty app; sandbox and production credentials differ.",
        critical_threshold=1,
    )


@_never_raises
def report_optty_unreachable(configuration: ChannelConfiguration, error: BaseException | str) -> None:
    """One failure to reach Optty for the channel; reported once failures have lasted."""
    failures, since = _count_failure(configuration)
    lasted = time.time() - since
    if failures < UNREACHABLE_MIN_FAILURES or lasted < UNREACHABLE_MIN_SECONDS:
        return
    _report(
        configuration.installation,
        OPTTY_UNREACHABLE,
        configuration.channel_slug,
        f"Optty could not be reached for channel {configuration.channel_slug!r}: {failures} failures "
        f"in the last {max(1, round(lasted / 60))} minutes, the latest: {_sentence(_describe(error))} "
        "Payments through Optty fail while this lasts; check Optty's status and the App's network access.",
        # Reported at most every REPORT_EVERY_SECONDS: critical after half an hour or so.
        critical_threshold=3,
    )


@_never_raises
def configuration_saved(configuration: ChannelConfiguration) -> None:
    """The merchant saved a configuration Optty accepted: the channel's problems are
    dismissed in Saleor and forgotten here, so that a new one is reported at once."""
    slug = configuration.channel_slug
    cache.delete_many([_sent_key(configuration.installation, kind, slug) for kind in KINDS] + _failure_keys(configuration))
    with SaleorClient.for_installation(configuration.installation) as saleor:
        saleor.dismiss_app_problems([_problem_key(kind, slug) for kind in KINDS])


# ------------------------------------------------------------------------ internals


def _report(
    installation: Installation, kind: str, channel_slug: str, message: str, *, critical_threshold: int
) -> None:
    if not cache.add(_sent_key(installation, kind, channel_slug), True, REPORT_EVERY_SECONDS):
        return  # reported lately, by this worker or another
    logger.warning("Problem for the merchant of %s: %s", installation.saleor_api_url, message)
    with SaleorClient.for_installation(installation) as saleor:
        saleor.create_app_problem(message, _problem_key(kind, channel_slug), critical_threshold=critical_threshold)


def _problem_key(kind: str, channel_slug: str) -> str:
    """Saleor's key for the problem: one per kind and channel, within Saleor's 128 characters."""
    key = f"optty:{kind}:{channel_slug}"
    if len(key) > _MAX_KEY_LENGTH:
        key = f"optty:{kind}:{_digest(channel_slug)}"
    return key


def _sent_key(installation: Installation, kind: str, channel_slug: str) -> str:
    return f"optty:problem-sent:{installation.pk}:{kind}:{_digest(channel_slug)}"


def _failure_keys(configuration: ChannelConfiguration) -> list[str]:
    scope = f"optty:unreachable:{configuration.installation_id}:{_digest(configuration.channel_slug)}"
    return [f"{scope}:count", f"{scope}:since"]


def _count_failure(configuration: ChannelConfiguration) -> tuple[int, float]:
    """Adds one failure to the channel's current run; (failures in it, when it began)."""
    count_key, since_key = _failure_keys(configuration)
    now = time.time()
    cache.add(since_key, now, UNREACHABLE_GAP_SECONDS)
    cache.add(count_key, 0, UNREACHABLE_GAP_SECONDS)
    try:
        failures = cache.incr(count_key)
    except ValueError:  # expired between add and incr
        cache.set(count_key, 1, UNREACHABLE_GAP_SECONDS)
        failures = 1
    # Each failure keeps the run going for another gap.
    cache.touch(count_key, UNREACHABLE_GAP_SECONDS)
    cache.touch(since_key, UNREACHABLE_GAP_SECONDS)
    return failures, cache.get(since_key, now)


def _describe(error: BaseException | str) -> str:
    """Text about ``error`` that holds no secret: the Optty and Saleor clients' errors are
    written to be shown; of anything else, only its kind."""
    if isinstance(error, str):
        return error
    if isinstance(error, OpttyError | SaleorError):
        return error.message
    return type(error).__name__


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]
