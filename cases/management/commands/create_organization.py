from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cases.models import Organization
from cases.services import organization_create


class Command(BaseCommand):
    help = "Create an organization: create_organization <slug> --name \"<name>\""

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", choices=Organization.Kind.values, default=Organization.Kind.HELPER,
                            help="consumer_association or market_regulator run their own complaint procedure")
        parser.add_argument("--level", choices=Organization.Level.values, default=Organization.Level.CITY)
        parser.add_argument("--address", default="")

    def handle(self, *args, slug, name, kind, level, address, **options):
        try:
            org = organization_create(slug=slug, name=name, kind=kind, level=level, address=address)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Created organization {org.slug} ({org.name}).")
