"""Write the consumer association's time limits (escalation/lawbook.py SEED, unconfirmed) into the rule table,
so supervisors see and correct them in the admin."""

from django.db import migrations

KEYS = ("association_acceptance", "association_mediation")


def forwards(apps, schema_editor):
    from escalation.lawbook import SEED

    RuleVersion = apps.get_model("escalation", "RuleVersion")
    RuleVersion.objects.bulk_create([RuleVersion(**row) for row in SEED if row["key"] in KEYS],
                                    ignore_conflicts=True)


def backwards(apps, schema_editor):
    apps.get_model("escalation", "RuleVersion").objects.filter(key__in=KEYS).delete()


class Migration(migrations.Migration):
    dependencies = [("procedure", "0001_procedure_mediation_documents_public_interest"),
                    ("escalation", "0008_association_procedure_rule_keys")]
    operations = [migrations.RunPython(forwards, backwards)]
