"""Each incident is pinned to a policy version: the ones recorded so far to the latest version of
their contract's policy (the default one when it names none, or one not loaded)."""

import django.db.models.deletion
from django.db import migrations, models


def pin(apps, schema_editor):
    from django.conf import settings

    PolicyVersion = apps.get_model("policies", "PolicyVersion")
    Incident = apps.get_model("incidents", "Incident")
    Contract = apps.get_model("incidents", "Contract")
    latest = {}
    for version in PolicyVersion.objects.order_by("name", "number"):
        latest[version.name] = version.pk
    default = latest.get(getattr(settings, "ESCALADE_DEFAULT_POLICY", "hipcom"))
    for name in set(Contract.objects.values_list("policy", flat=True)):
        if name in latest:
            Incident.objects.filter(customer__contract__policy=name).update(policy_version=latest[name])
    Incident.objects.filter(policy_version__isnull=True).update(policy_version=default)
    # A contract naming a policy that is not loaded (the old default "hipcom" under another
    # ESCALADE_DEFAULT_POLICY) follows the default one.
    Contract.objects.exclude(policy__in=list(latest)).update(policy="")


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0012_dashboard_triage'),
        ('policies', '0002_default_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='incident',
            name='policy_version',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='policies.policyversion', verbose_name='version de politique'),
        ),
        migrations.AlterField(
            model_name='contract',
            name='policy',
            field=models.CharField(blank=True, default='', max_length=100, verbose_name='politique'),
        ),
        migrations.RunPython(pin, migrations.RunPython.noop),
    ]
