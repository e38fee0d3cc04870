"""``python -m appliance`` is the ``mac-turnos`` command."""

from appliance.cli import main

main()
