"""A reverse proxy in front of a real Chroma server that can start answering like a broken load balancer
(HTTP 503 with an HTML page), the failure a Cloud Run or nginx front produces when Chroma is gone."""

from __future__ import annotations

import httpx
from werkzeug.wrappers import Request, Response

from tests.support.local_http import LocalHttpServer

ERROR_PAGE = "<html><body><h1>503 Service Unavailable</h1>upstream connect error</body></html>"
HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class FlakyProxy(LocalHttpServer):
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.broken = False
        self.headers_seen: list[dict[str, str]] = []
        """The headers of every request that reached the proxy, lower-cased names."""
        self._client = httpx.Client(base_url=upstream, timeout=30)
        super().__init__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self._client.close()

    @Request.application  # type: ignore[misc]
    def wsgi(self, request: Request) -> Response:
        self.headers_seen.append({k.lower(): v for k, v in request.headers.items()})
        if self.broken:
            return Response(ERROR_PAGE, status=503, content_type="text/html")
        upstream = self._client.request(
            request.method,
            request.full_path.rstrip("?"),
            content=request.get_data(),
            headers={k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | {"host"}},
        )
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS]
        return Response(upstream.content, status=upstream.status_code, headers=headers)
