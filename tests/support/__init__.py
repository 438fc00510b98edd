"""Helpers shared by the test suites: local stand-ins for services that cannot run here."""
