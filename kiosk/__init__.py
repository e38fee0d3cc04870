"""Reception: the citizen's touch kiosk, the orientador's console and the ticket's public
status page. Pages only: every change goes through the ``/api/v1`` engine routes."""
