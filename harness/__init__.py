"""Test and benchmark harness: a real server in a subprocess, a throwaway PostgreSQL cluster,
the central receiver and a fault-injecting proxy. Imported by ``tests`` and ``bench`` only."""
