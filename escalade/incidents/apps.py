from django.apps import AppConfig
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from escalade.core import words
from escalade.database import lookups


class IncidentsConfig(AppConfig):
    name = "escalade.incidents"
    label = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        # The core words its sentences through Django's catalogue, in the active language (the
        # page's, the API's Accept-Language, a reply's reader's); French, the core's own, has a
        # catalogue of its texts as themselves (scripts/french-catalogue), so a look-up is a hit.
        words.install(translation.gettext, translation.get_language)
        lookups.register()
