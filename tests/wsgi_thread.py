"""A WSGI app served by waitress on a thread of the test process, stopped the way a dead
server stops: every channel closed, the task threads shut down, the loop thread joined."""

from __future__ import annotations

import threading
from typing import Any

from waitress.server import create_server


class ServedApp:
    def __init__(self, app: Any, port: int = 0, threads: int = 16) -> None:
        self.server: Any = create_server(app, host="127.0.0.1", port=port, threads=threads,
                                         asyncore_loop_timeout=0.05)
        self.port: int = self.server.effective_port
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):  # its sockets were closed under the loop by stop()
            if not self._stopping:
                raise

    def stop(self) -> None:
        self._stopping = True
        for channel in list(self.server._map.values()):
            channel.handle_close()
        self.server.task_dispatcher.shutdown(timeout=5)
        self._thread.join(5)
