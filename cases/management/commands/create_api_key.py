from django.core.management.base import BaseCommand, CommandError

from cases.models import Organization
from cases.services import api_key_create


class Command(BaseCommand):
    help = "Create a partner API key for an organization. The key is printed once and never stored."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--name", required=True, help="the partner app's name")
        parser.add_argument("--stats", action="store_true", help="may also read statistics")

    def handle(self, *args, org, name, stats, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        _key, raw = api_key_create(organization=organization, name=name, can_read_stats=stats)
        self.stderr.write(f"API key for {name} ({organization.slug}); store it now, it is not shown again:")
        self.stdout.write(raw)
