"""Honest fakes of external services, runnable in tests: real sockets, scripted behaviour."""
