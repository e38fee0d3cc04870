"""Composition root: the Flask app, the HTTP API, the command line and the server."""

__version__ = "0.1.0"
