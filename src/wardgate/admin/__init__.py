"""The admin API (``/admin/v1``, OpenAPI at ``/admin/docs``)."""
