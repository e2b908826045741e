from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cases.models import Organization
from cases.services import staff_user_create
from kameng_api.core.roles import Role


class Command(BaseCommand):
    help = "Create a staff user of an organization with one role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args, username, org, role, password, email, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        try:
            user = staff_user_create(username=username, organization=organization, role=role, password=password,
                                     email=email)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Created {user.role} {user.username} in {organization.slug}.")
