"""A WSGI app served on an ephemeral loopback port from a background thread, for HTTP stand-ins."""

from __future__ import annotations

import threading
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, make_server


class LocalHttpServer:
    """Subclasses implement `wsgi(environ, start_response)`; use as a context manager."""

    def __init__(self) -> None:
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        # shutdown() waits up to one poll interval; the default 0.5 s would dominate tests that take ms.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
