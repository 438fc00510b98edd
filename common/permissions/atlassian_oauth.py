"""Atlassian's OAuth 2.0 (3LO) for Confluence Cloud, and the personal-access-token check for Data Center.

The token exchange, the refresh (Atlassian rotates refresh tokens: each refresh returns a new one, which must
be kept) and the accessible-resources call follow developer.atlassian.com's "OAuth 2.0 (3LO) apps"; the
account behind a token is read from the site's own `user/current`, which also proves the token may reach
the site the product syncs (a token for another site links nobody).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from common.errors import LinkRefused, PermissionsUnavailable

SCOPES = "read:confluence-user read:confluence-content.permission offline_access"


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OAuthApp:
    client_id: str
    client_secret: str
    redirect_uri: str
    auth_url: str
    api_url: str
    site_url: str
    """CONFLUENCE_URL: the site whose cloud id the token must reach."""


class AtlassianOAuth:
    def __init__(self, app: OAuthApp, *, timeout_seconds: float) -> None:
        self._app = app
        self._http = httpx.Client(timeout=timeout_seconds)

    def authorize_url(self, state: str) -> str:
        query = urlencode(
            {
                "audience": "api.atlassian.com",
                "client_id": self._app.client_id,
                "scope": SCOPES,
                "redirect_uri": self._app.redirect_uri,
                "state": state,
                "response_type": "code",
                "prompt": "consent",
            }
        )
        return f"{self._app.auth_url}/authorize?{query}"

    def exchange(self, code: str, *, now: datetime) -> Tokens:
        return self._tokens(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self._app.redirect_uri},
            now=now,
        )

    def refresh(self, refresh_token: str, *, now: datetime) -> Tokens:
        return self._tokens({"grant_type": "refresh_token", "refresh_token": refresh_token}, now=now)

    def account_id(self, access_token: str) -> str:
        """The account behind the token, on CONFLUENCE_URL's site."""
        resources = self._get(f"{self._app.api_url}/oauth/token/accessible-resources", access_token)
        site = _origin(self._app.site_url)
        cloud_id = next(
            (
                r.get("id")
                for r in resources
                if isinstance(r, dict) and _origin(str(r.get("url", ""))) == site
            ),
            None,
        )
        if not isinstance(cloud_id, str):
            raise LinkRefused(f"The Atlassian account you chose has no access to {site}; pick that site.")
        user = self._get(
            f"{self._app.api_url}/ex/confluence/{cloud_id}/wiki/rest/api/user/current", access_token
        )
        account_id = user.get("accountId") if isinstance(user, dict) else None
        if not isinstance(account_id, str) or not account_id:
            raise LinkRefused("Confluence did not say which account the token belongs to.")
        return account_id

    def _tokens(self, grant: dict[str, str], *, now: datetime) -> Tokens:
        body = {**grant, "client_id": self._app.client_id, "client_secret": self._app.client_secret}
        data = self._call("POST", f"{self._app.auth_url}/oauth/token", json=body)
        try:
            return Tokens(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]),
                expires_at=now + timedelta(seconds=int(data["expires_in"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LinkRefused(
                "Atlassian's token answer lacked access_token, refresh_token or expires_in: "
                "is `offline_access` among the app's scopes?"
            ) from exc

    def _get(self, url: str, access_token: str) -> Any:
        return self._call("GET", url, headers={"Authorization": f"Bearer {access_token}"})

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise PermissionsUnavailable(f"Atlassian could not be reached ({type(exc).__name__}).") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise PermissionsUnavailable(
                f"Atlassian answered {response.status_code} to {urlsplit(url).path}."
            )
        if response.status_code >= 400:
            raise LinkRefused(
                f"Atlassian refused the Confluence link ({response.status_code} {_reason(response)}); "
                "link again from Slack."
            )
        try:
            return response.json()
        except ValueError as exc:
            raise PermissionsUnavailable(
                f"Atlassian answered {urlsplit(url).path} with something not JSON."
            ) from exc


class PersonalTokenCheck:
    """Data Center: a personal access token is the person's own; `user/current` says whose."""

    def __init__(self, site_url: str, *, timeout_seconds: float) -> None:
        self._url = f"{site_url.rstrip('/')}/rest/api/user/current"
        self._http = httpx.Client(timeout=timeout_seconds)

    def account_id(self, token: str) -> str:
        try:
            response = self._http.get(self._url, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise PermissionsUnavailable(f"Confluence could not be reached ({type(exc).__name__}).") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise PermissionsUnavailable(f"Confluence answered {response.status_code} to user/current.")
        if response.status_code >= 400:
            raise LinkRefused("Confluence refused that personal access token; make a new one and link again.")
        user = response.json()
        account = user.get("userKey") or user.get("accountId") if isinstance(user, dict) else None
        if not isinstance(account, str) or not account or user.get("type") == "anonymous":
            raise LinkRefused("That token belongs to no Confluence user; make one while signed in.")
        return account


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or body.get("message") or "")
    return response.reason_phrase
