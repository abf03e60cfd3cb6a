"""API areas of the client: one module each (``client.regions``, ``client.patients``)."""
