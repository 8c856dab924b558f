"""The ``wardgate`` command."""
