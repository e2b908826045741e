from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cases.services import organization_create


class Command(BaseCommand):
    help = "Create an organization: create_organization <slug> --name \"<name>\""

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)

    def handle(self, *args, slug, name, **options):
        try:
            org = organization_create(slug=slug, name=name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Created organization {org.slug} ({org.name}).")
