import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from evidence.localtsa import LocalTSA


class Command(BaseCommand):
    help = ("Run a local, untrusted RFC 3161 time-stamping authority for the demo (openssl ts -reply with a "
            "throw-away CA kept in --dir). Point the service at it with KAMENG_TSA_URL and KAMENG_TSA_CA_FILE.")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8318)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--dir", default=str(settings.BASE_DIR / "var" / "local-tsa"),
                            help="where the CA, the TSA certificate and the keys are made (kept between runs)")
        parser.add_argument("--include-chain", action="store_true",
                            help="embed the CA certificate in each token too, as most real TSAs do")

    def handle(self, *args, **options):
        tsa = LocalTSA(options["dir"], port=options["port"], host=options["host"],
                       include_chain=options["include_chain"])
        signal.signal(signal.SIGTERM, lambda *_: tsa.stop())
        self.stdout.write(f"Local TSA (not trusted; for the demo) at {tsa.url}\n"
                          f"  KAMENG_TSA_URL={tsa.url}\n  KAMENG_TSA_CA_FILE={tsa.ca_file}\n"
                          f"  TSA certificate: {tsa.cert_file}")
        self.stdout.flush()
        try:
            tsa.serve_forever()
        except KeyboardInterrupt:
            tsa.stop()
