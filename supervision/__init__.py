"""The supervisor's room: the live floor, its alerts and actions, the jornada, staff accounts
and enrolled devices."""
