"""The Dashboard's token for the App's page (``App.accessToken``), verified."""

import datetime as dt

import jwt
import pytest

from saleor_optty.app.saleor.dashboard import (
    DashboardTokenError,
    DashboardUser,
    verify_dashboard_token,
)

from .standin import stranger_key


def test_a_token_saleor_made_for_this_app_names_the_user(saleor, installation):
    token = saleor.dashboard_token(permissions=("MANAGE_APPS", "HANDLE_PAYMENTS", "MANAGE_ORDERS"), email="ada@example.com")

    user = verify_dashboard_token(token, installation)

    assert user == DashboardUser(
        email="ada@example.com",
        user_id=jwt.decode(token, options={"verify_signature": False})["user_id"],
        permissions=("HANDLE_PAYMENTS", "MANAGE_APPS", "MANAGE_ORDERS"),
        app_id=installation.app_id,
    )
    assert saleor.jwks_requests == 0


def test_further_permissions_can_be_required(saleor, installation):
    token = saleor.dashboard_token(permissions=("MANAGE_APPS",))
    with pytest.raises(DashboardTokenError) as refusal:
        verify_dashboard_token(token, installation, required_permissions=("MANAGE_APPS", "HANDLE_PAYMENTS"))
    assert refusal.value.status == 403
    assert "HANDLE_PAYMENTS" in refusal.value.message


@pytest.mark.parametrize(
    ("make_token", "status", "message"),
    [
        (lambda saleor: saleor.dashboard_token(expired=True), 401, "expired"),
        (lambda saleor: saleor.dashboard_token(app_id="QXBwOjk5"), 401, "another App"),
        (lambda saleor: saleor.dashboard_token(permissions=("HANDLE_PAYMENTS",)), 403, "MANAGE_APPS"),
        (lambda saleor: saleor.dashboard_token(permissions=()), 403, "MANAGE_APPS"),
        (lambda saleor: saleor.dashboard_token(issuer="https://other-saleor.example.com/graphql/"), 401, "another Saleor"),
        (lambda saleor: saleor.dashboard_token(audience="another-app"), 401, "another App"),
        (lambda saleor: saleor.dashboard_token(token_type="access"), 401, "not a token Saleor makes"),
        (lambda saleor: saleor.dashboard_token(key=stranger_key()), 401, "not signed by this Saleor"),
        (lambda saleor: saleor.dashboard_token(key=stranger_key(), kid=saleor.kid), 401, "not signed by this Saleor"),
        (lambda saleor: "", 401, "No Dashboard token"),
        (lambda saleor: "not-a-token", 401, "not an RS256 token"),
    ],
    ids=[
        "expired",
        "other-app",
        "no-manage-apps",
        "no-permissions",
        "other-issuer",
        "audience",
        "user-token",
        "unknown-key",
        "forged-kid",
        "empty",
        "garbage",
    ],
)
def test_tokens_that_prove_nothing_are_refused(saleor, installation, make_token, status, message):
    with pytest.raises(DashboardTokenError) as refusal:
        verify_dashboard_token(make_token(saleor), installation)
    assert refusal.value.status == status
    assert message in refusal.value.message


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_symmetric_token_is_refused(saleor, installation):
    claims = jwt.decode(saleor.dashboard_token(), options={"verify_signature": False})
    forged = jwt.encode(claims, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256", headers={"kid": saleor.kid})
    with pytest.raises(DashboardTokenError, match="not an RS256 token"):
        verify_dashboard_token(forged, installation)


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_token_without_expiry_is_refused(saleor, installation):
    claims = jwt.decode(saleor.dashboard_token(), options={"verify_signature": False})
    del claims["exp"]
    token = jwt.encode(claims, saleor.key, algorithm="RS256", headers={"kid": saleor.kid})
    with pytest.raises(DashboardTokenError, match="malformed"):
        verify_dashboard_token(token, installation)


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_little_clock_skew_is_tolerated(saleor, installation):
    claims = jwt.decode(saleor.dashboard_token(), options={"verify_signature": False})
    now = dt.datetime.now(dt.UTC)
    claims.update(iat=now + dt.timedelta(seconds=10), exp=now - dt.timedelta(seconds=10))
    token = jwt.encode(claims, saleor.key, algorithm="RS256", headers={"kid": saleor.kid})
    assert verify_dashboard_token(token, installation).app_id == installation.app_id


def test_a_rotated_key_is_fetched_once(saleor, installation):
    saleor.rotate_key()
    assert verify_dashboard_token(saleor.dashboard_token(), installation).app_id == installation.app_id
    assert verify_dashboard_token(saleor.dashboard_token(), installation).app_id == installation.app_id
    assert saleor.jwks_requests == 1


def test_an_expired_token_does_not_make_the_app_ask_saleor(saleor, installation):
    for _ in range(3):
        with pytest.raises(DashboardTokenError):
            verify_dashboard_token(saleor.dashboard_token(expired=True), installation)
    assert saleor.jwks_requests == 0
