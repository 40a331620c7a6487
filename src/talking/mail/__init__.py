"""Email for the resident panel: the outbox, the messages, the transports and the one sender."""
