import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escalade.settings")
application = get_wsgi_application()

# What is loaded by now (modules, settings, models, URL patterns) lives as long as the process:
# frozen, the cycle collector no longer traverses it at every full collection. And the collector
# runs after 10,000 new objects rather than 700, so that a request's objects are rarely traversed
# while still in use. The collector took 11 % of an API list's CPU, 1.6 % with both
# (docs/performance.md).
gc.freeze()
gc.set_threshold(10_000, 10, 10)
