"""Two foreign-key indexes that others already serve: an incident's customer (led by the customer:
(customer, status), (customer, opened_at)) and a timeline entry's incident (the chain's two, led by
the incident). One index less to keep up on each of the two largest tables.

The indexes are dropped by name: Django's AlterField would rebuild both tables on SQLite, and the
rebuild would drop the triggers that keep history append-only (ops 0001)."""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [  # (name, table, column): Django's own names, the same on every database
    ("incidents_incident_customer_id_a4353357", "incidents_incident", "customer_id"),
    ("incidents_timelineevent_incident_id_8c8ba3f0", "incidents_timelineevent", "incident_id"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0016_alter_timelineevent_channel'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"', f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
                for name, table, column in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='incident',
                    name='customer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='incidents', to='incidents.customer', verbose_name='client'),
                ),
                migrations.AlterField(
                    model_name='timelineevent',
                    name='incident',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='timeline', to='incidents.incident', verbose_name='incident'),
                ),
            ],
        ),
    ]
