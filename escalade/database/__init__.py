"""Escalade's PostgreSQL backend: Django's, with a health check that costs no round trip when the
connection shows no sign of trouble (`base.DatabaseWrapper`)."""
