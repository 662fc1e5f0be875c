from django.db import migrations, models


def fill_labels(apps, schema_editor):
    """Escalations acknowledged before the label existed: the account's name, else the name the
    timeline recorded (acknowledgements from an e-mail link have no account)."""
    Escalation = apps.get_model("escalations", "Escalation")
    TimelineEvent = apps.get_model("incidents", "TimelineEvent")
    for escalation in Escalation.objects.filter(acknowledged_at__isnull=False, acknowledged_label=""):
        user = escalation.acknowledged_by
        label = ((user.first_name + " " + user.last_name).strip() or user.username) if user else ""
        if not label:
            event = TimelineEvent.objects.filter(
                incident_id=escalation.incident_id, kind="escalation_acknowledged", data__escalation=escalation.pk
            ).first()
            label = event.actor_label if event else ""
        Escalation.objects.filter(pk=escalation.pk).update(acknowledged_label=label[:200])


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0001_initial"),
        ("incidents", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="escalation",
            name="acknowledged_label",
            field=models.CharField(blank=True, max_length=200, verbose_name="pris en compte par (libellé)"),
        ),
        migrations.RunPython(fill_labels, migrations.RunPython.noop),
    ]
