"""``python -m appliance`` is the ``mac-turnos`` command."""

from appliance.launch import main

main()
