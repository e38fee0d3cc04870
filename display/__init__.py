"""The waiting-room TVs: the display page, its announcement feed, and the TV-side client
that finds the server on the LAN and opens the page."""
