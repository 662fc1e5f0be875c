"""The API's fixtures (clock, tokens, client, incidents), for the limits on what the API receives."""

from api.conftest import api, make_incident, now, tokens  # noqa: F401
