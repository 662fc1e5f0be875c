"""The service's own settings plus one trivial JSON view (`/trivial`): every benchmark's baseline,
served by the same processes, middleware and authentication as the views it is compared with."""

from escalade.settings import *  # noqa: F403

ROOT_URLCONF = "trivial_urls"
