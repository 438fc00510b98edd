"""An HTTP stand-in for Atlassian's OAuth 2.0 (3LO) endpoints and the one site API linking calls.

`GET /authorize` consents at once for the account a test chose (`consent_as`) and redirects to the
`redirect_uri` with `code` and `state`, as auth.atlassian.com does after the person clicks Accept.
`POST /oauth/token` exchanges a code (once) or a refresh token (rotating: each refresh returns a new one and
retires the old), answering errors as Atlassian does (`{"error": "invalid_grant", ...}`, 403).
`GET /oauth/token/accessible-resources` lists the sites a token may reach, and
`GET /ex/confluence/{cloudid}/wiki/rest/api/user/current` says whose the token is.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from tests.support.local_http import LocalHttpServer

CLOUD_ID = "11223344-a1b2-3b33-c444-def123456789"


@dataclass
class _Grant:
    account_id: str
    redirect_uri: str


class AtlassianOAuthStandin(LocalHttpServer):
    def __init__(self, *, client_id: str, client_secret: str, site_url: str, expires_in: int = 3600) -> None:
        self.client_id, self.client_secret, self.site_url = client_id, client_secret, site_url
        self.expires_in = expires_in
        self.consenting_account = "557058:tom"
        self.requests: list[tuple[str, str]] = []
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, str] = {}
        self._refresh: dict[str, str] = {}
        self._lock = threading.Lock()
        super().__init__()

    def consent_as(self, account_id: str) -> None:
        self.consenting_account = account_id

    def revoke(self, account_id: str) -> None:
        """The person removed the app's access in their Atlassian profile: every token of theirs dies."""
        with self._lock:
            for tokens in (self._access, self._refresh):
                for token in [t for t, owner in tokens.items() if owner == account_id]:
                    del tokens[token]

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access.clear()

    @Request.application  # type: ignore[misc]
    def wsgi(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        if request.method == "GET" and request.path == "/authorize":
            return self._authorize(request)
        if request.method == "POST" and request.path == "/oauth/token":
            return self._token(request)
        if request.method == "GET" and request.path == "/oauth/token/accessible-resources":
            if self._account(request) is None:
                return _json({"code": 401, "message": "Unauthorized"}, 401)
            return _json(
                [
                    {
                        "id": CLOUD_ID,
                        "url": self.site_url,
                        "name": "larkspur",
                        "scopes": ["read:confluence-user", "read:confluence-content.permission"],
                        "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/star.png",
                    }
                ]
            )
        if (
            request.method == "GET"
            and request.path == f"/ex/confluence/{CLOUD_ID}/wiki/rest/api/user/current"
        ):
            account = self._account(request)
            if account is None:
                return _json({"code": 401, "message": "Unauthorized; scope does not match"}, 401)
            return _json(
                {"type": "known", "accountId": account, "accountType": "atlassian", "displayName": account}
            )
        return _json({"error": "not_found", "error_description": f"No route {request.path}"}, 404)

    def _authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id or args.get("audience") != "api.atlassian.com":
            return Response("Invalid client", status=400)
        code = secrets.token_urlsafe(12)
        with self._lock:
            self._codes[code] = _Grant(self.consenting_account, args.get("redirect_uri", ""))
        target = f"{args.get('redirect_uri')}?{urlencode({'code': code, 'state': args.get('state', '')})}"
        return Response(status=302, headers={"Location": target})

    def _token(self, request: Request) -> Response:
        body: dict[str, Any] = request.get_json(silent=True) or {}
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return _json({"error": "access_denied", "error_description": "Unauthorized"}, 401)
        with self._lock:
            if body.get("grant_type") == "authorization_code":
                grant = self._codes.pop(str(body.get("code")), None)
                if grant is None or grant.redirect_uri != body.get("redirect_uri"):
                    return _json(
                        {"error": "invalid_grant", "error_description": "Invalid authorization code"}, 403
                    )
                account = grant.account_id
            elif body.get("grant_type") == "refresh_token":
                account = self._refresh.pop(str(body.get("refresh_token")), None)
                if account is None:
                    return _json(
                        {"error": "unauthorized_client", "error_description": "refresh_token is invalid"}, 403
                    )
            else:
                return _json({"error": "unsupported_grant_type"}, 400)
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self._access[access], self._refresh[refresh] = account, account
        return _json(
            {
                "access_token": access,
                "expires_in": self.expires_in,
                "token_type": "Bearer",
                "refresh_token": refresh,
                "scope": "read:confluence-user read:confluence-content.permission offline_access",
            }
        )

    def _account(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            return self._access.get(token) if scheme == "Bearer" else None


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")
