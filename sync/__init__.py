"""The uplink: store-and-forward of the centre's event log to the central office, and the
reference central receiver (``sync.central``)."""
