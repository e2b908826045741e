from django.core.management.base import BaseCommand, CommandError

from evidence.bundle import verify_bundle


class Command(BaseCommand):
    help = ("Check a case bundle (ZIP) offline: every file against its SHA-256 in the manifest, and the hash "
            "chain recomputed up to its recorded head. Exits non-zero and lists what is wrong otherwise.")

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="path to the bundle ZIP")

    def handle(self, *args, **options):
        problems, facts = verify_bundle(options["bundle"])
        if problems:
            for problem in problems:
                self.stderr.write(f"- {problem}")
            raise CommandError(f"{len(problems)} problem(s): the bundle does not hold up.")
        self.stdout.write(self.style.SUCCESS(
            f"OK: case {facts['case']}, {facts['files']} file(s), {facts['entries']} chain entries, "
            f"head {facts['head']}. Compare the head with GET /api/v1/cases/<id>/verify/ on the service."
        ))
