from django.core.management.base import BaseCommand, CommandError

from cases.models import ApiKey
from cases.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke a partner API key by its prefix (the 8 characters after km_)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        key = ApiKey.objects.filter(prefix=prefix).first()
        if key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        api_key_revoke(key=key)
        self.stdout.write(f"Revoked {key}.")
