"""Devices of the appliance: printers, speaker, serial devices, discovery (nothing of ours)."""
