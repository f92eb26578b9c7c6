"""Construction of the server: the host's shared parts, one Lambda stack per region served,
the queue service, and the edge that routes requests to them. ``lamina.server`` runs it."""
