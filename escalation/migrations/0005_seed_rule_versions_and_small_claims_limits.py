"""The first content of the rule table (escalation/lawbook.py SEED) and the estimated small-claims limits.
Supervisors add later versions in the admin; this migration never overwrites a row that exists."""

from django.db import migrations


def seed(apps, schema_editor):
    from escalation.lawbook import SEED, SMALL_CLAIMS_SEED

    RuleVersion = apps.get_model("escalation", "RuleVersion")
    SmallClaimsLimit = apps.get_model("escalation", "SmallClaimsLimit")
    for row in SEED:
        defaults = {k: v for k, v in row.items() if k not in ("key", "effective_from")}
        RuleVersion.objects.get_or_create(key=row["key"], effective_from=row["effective_from"], defaults=defaults)
    for row in SMALL_CLAIMS_SEED:
        defaults = {k: v for k, v in row.items() if k not in ("province", "applies_from")}
        SmallClaimsLimit.objects.get_or_create(province=row["province"], applies_from=row["applies_from"],
                                               defaults=defaults)


class Migration(migrations.Migration):
    dependencies = [("escalation", "0004_rule_versions_calendar_years_small_claims")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
