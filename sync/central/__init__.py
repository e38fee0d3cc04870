"""The reference central receiver: ingest endpoint, storage and the national dashboard."""
