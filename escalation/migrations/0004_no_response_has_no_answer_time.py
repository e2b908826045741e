"""An escalation closed as `no_response` was stored with an answer time (the moment it was recorded), which
counted it as answered. It has none: clear it. `updated_at` moves so the statistics refresh recomputes
those cases."""

from django.db import migrations
from django.db.models.functions import Now


def clear_answer_time(apps, schema_editor):
    Escalation = apps.get_model("escalation", "Escalation")
    Escalation.objects.filter(outcome="no_response", responded_at__isnull=False).update(
        responded_at=None, updated_at=Now())


class Migration(migrations.Migration):
    dependencies = [("escalation", "0003_escalation_updated_at_index")]

    operations = [migrations.RunPython(clear_answer_time, migrations.RunPython.noop)]
