from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evidence.bundle import verify_bundle


class Command(BaseCommand):
    help = ("Check a case bundle (ZIP) offline: every file against its SHA-256 in the manifest, the hash chain "
            "recomputed up to its recorded head, and every RFC 3161 timestamp token (signature, TSA certificate, "
            "imprint equal to the file's hash or the chain head). Exits non-zero and lists what is wrong otherwise.")

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="path to the bundle ZIP")
        parser.add_argument("--tsa-ca", help="PEM file with the TSA's root certificate, obtained from the TSA itself "
                                             "(default: the copy in the bundle, tsa/ca.pem)")

    def handle(self, *args, **options):
        tsa_ca = None
        if options.get("tsa_ca"):
            try:
                tsa_ca = Path(options["tsa_ca"]).read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {options['tsa_ca']}: {exc}") from exc
        problems, facts = verify_bundle(options["bundle"], tsa_ca=tsa_ca)
        if problems:
            for problem in problems:
                self.stderr.write(f"- {problem}")
            raise CommandError(f"{len(problems)} problem(s): the bundle does not hold up.")
        stamps = ""
        if facts.get("timestamps"):
            stamps = (f" {facts['timestamps']} timestamp token(s) verified"
                      + (f" (chain head {facts['stamped_head']} stamped at {facts['head_stamped_at']})"
                         if facts.get("stamped_head") else "") + ".")
        if facts.get("timestamps_pending"):
            stamps += f" {facts['timestamps_pending']} timestamp(s) were still pending when the bundle was made."
        if not facts.get("timestamps") and not facts.get("timestamps_pending"):
            stamps = " No timestamp tokens (no TSA was configured)."
        self.stdout.write(self.style.SUCCESS(
            f"OK: case {facts['case']}, {facts['files']} file(s), {facts['entries']} chain entries, "
            f"head {facts['head']}.{stamps} Compare the head with GET /api/v1/cases/<id>/verify/ on the service."
        ))
