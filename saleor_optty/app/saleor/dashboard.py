"""The Dashboard's token: who is looking at the App's configuration page.

The Dashboard shows ``appUrl`` in an iframe and hands the page a token through the
AppBridge handshake (GraphQL ``App.accessToken``). Saleor makes it in
``create_access_token_for_app`` (``saleor/core/jwt.py``, same at 3.20.119 and
3.23.28): an RS256 JWT signed with Saleor's key (the JWKS of :mod:`.jwks`), with

- ``iss``: Saleor's API URL (``build_absolute_uri(reverse("api"))``, the value Saleor
  also sends as ``Saleor-Api-Url``), ``iat``, ``exp`` (``JWT_TTL_APP_ACCESS``, 5 minutes);
- ``type: "thirdparty"``, ``app``: the App's global id;
- ``user_permissions``: the staff user's permissions, ``permissions``: those the user
  shares with the App; ``email``, ``user_id``, ``is_staff``, ``token``;
- ``aud`` only when the App's manifest sets ``audience``, which this App's does not, so
  a token with an audience was made for another App and PyJWT refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from ..models import Installation
from .jwks import ALGORITHM, UnknownKeyError, token_key_id, with_saleor_key

#: Saleor's clock and the App's may differ a little; the token lives 5 minutes.
CLOCK_LEEWAY_SECONDS = 30
#: ``type`` of the tokens Saleor makes for Apps and their extensions.
THIRD_PARTY_TOKEN = "thirdparty"


@dataclass(frozen=True)
class DashboardUser:
    """The staff user the Dashboard vouches for."""

    email: str
    user_id: str
    #: The user's own permissions (``user_permissions``), e.g. ``("HANDLE_PAYMENTS", "MANAGE_APPS")``.
    permissions: tuple[str, ...]
    app_id: str


class DashboardTokenError(Exception):
    """A Dashboard token the App does not accept. ``status`` is the HTTP answer: 401 for
    a token that proves nothing, 403 for a user who may not do this."""

    def __init__(self, message: str, *, status: int = 401):
        super().__init__(message)
        self.message = message
        self.status = status


def verify_dashboard_token(
    token: str,
    installation: Installation,
    *,
    required_permissions: Iterable[str] = ("MANAGE_APPS",),
) -> DashboardUser:
    """The user behind ``token``, if the installing Saleor signed it for this App and the
    user holds every permission in ``required_permissions``; raises
    :class:`DashboardTokenError` otherwise."""
    if not token:
        raise DashboardTokenError("No Dashboard token: open the App from Saleor's Dashboard.")
    kid = token_key_id(token)
    if kid is None:
        raise DashboardTokenError("The Dashboard token is not an RS256 token from Saleor.")

    def decode(key: jwt.PyJWK) -> dict:
        return jwt.decode(
            token,
            key.key,
            algorithms=[ALGORITHM],
            issuer=installation.saleor_api_url,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss"]},
        )

    try:
        claims = with_saleor_key(installation, kid, decode)
    except jwt.ExpiredSignatureError:
        raise DashboardTokenError("The Dashboard token has expired: reload the App's page.") from None
    except jwt.InvalidIssuerError:
        raise DashboardTokenError("The Dashboard token was issued by another Saleor.") from None
    except jwt.InvalidAudienceError:
        raise DashboardTokenError("The Dashboard token was made for another App.") from None
    except (UnknownKeyError, jwt.InvalidSignatureError):
        raise DashboardTokenError("The Dashboard token is not signed by this Saleor.") from None
    except jwt.PyJWTError:
        raise DashboardTokenError("The Dashboard token is malformed.") from None

    if claims.get("type") != THIRD_PARTY_TOKEN:
        raise DashboardTokenError("This is not a token Saleor makes for an App's page.")
    if claims.get("app") != installation.app_id:
        raise DashboardTokenError("The Dashboard token was made for another App.")
    permissions = claims.get("user_permissions")
    if not isinstance(permissions, list) or not all(isinstance(name, str) for name in permissions):
        raise DashboardTokenError("The Dashboard token lists no permissions.")
    missing = [name for name in required_permissions if name not in permissions]
    if missing:
        raise DashboardTokenError(
            f"Your Saleor account needs the {', '.join(missing)} permission to change the Optty App's settings; "
            "ask a Saleor administrator.",
            status=403,
        )
    return DashboardUser(
        email=str(claims.get("email") or ""),
        user_id=str(claims.get("user_id") or ""),
        permissions=tuple(sorted(permissions)),
        app_id=claims["app"],
    )
