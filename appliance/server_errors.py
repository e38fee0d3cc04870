"""The errors waitress itself answers before the app sees a request (a body longer than the
box takes, a header block too large, a request it cannot parse): JSON ``{error, message}``
like every other error of the API, not waitress's plain text. Behind the front, nginx
answers most of these first, in the same form (``systemd/nginx-site.conf``)."""

from __future__ import annotations

import json
from typing import Any

from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

CODES = {400: ("bad_request", "La solicitud no es válida."),
         413: ("too_large", "El cuerpo es demasiado grande."),
         431: ("headers_too_large", "Las cabeceras de la solicitud son demasiado grandes.")}


class JsonErrorTask(ErrorTask):
    def execute(self) -> None:
        request: Any = self.request  # waitress's stubs type it loosely
        error = request.error
        code, message = CODES.get(error.code, ("http_error", str(error.reason)))
        body = json.dumps({"error": code, "message": message},
                          ensure_ascii=False).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        headers: Any = self.response_headers
        headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def answer_errors_in_json(server: Any) -> None:
    """Make ``server`` (what ``waitress.create_server`` returned: one listener, or several)
    answer its own errors in JSON."""
    listeners = [server, *getattr(server, "map", {}).values()]
    for listener in listeners:
        if hasattr(listener, "channel_class"):
            listener.channel_class = JsonErrorChannel
