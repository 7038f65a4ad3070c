"""The event bus: port, adapters (Redis, in-memory) and the factory that picks one."""
