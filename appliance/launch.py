"""The ``mac-turnos`` command's entry point: the server commands start over once with the
allocator tuned (``appliance.memory``) before the command line is even imported, so the
restart costs a fresh interpreter, not the whole application's imports twice."""

from __future__ import annotations

import sys

from appliance import memory

SERVER_COMMANDS = ("serve", "demo")


def main() -> None:
    if any(arg in SERVER_COMMANDS for arg in sys.argv[1:]):
        memory.restart_tuned()
    from appliance.cli import main as cli_main

    cli_main()
