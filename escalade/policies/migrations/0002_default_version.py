"""The policy in force so far (ESCALADE_POLICY's file, or the one shipped) becomes version 1 of the
default policy, so that the incidents already recorded can be pinned to it."""

import hashlib

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def load_default(apps, schema_editor):
    from escalade.policies import load_policy, policy_text

    PolicyVersion = apps.get_model("policies", "PolicyVersion")
    name = getattr(settings, "ESCALADE_DEFAULT_POLICY", "hipcom")
    if PolicyVersion.objects.filter(name=name).exists():
        return
    text = policy_text()
    load_policy()  # refuses an invalid file with the validator's messages
    PolicyVersion.objects.create(name=name, number=1, text=text, digest=hashlib.sha256(text.encode()).hexdigest(),
                                 created_at=timezone.now(), created_by_label="migration")


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]

    operations = [migrations.RunPython(load_default, migrations.RunPython.noop)]
