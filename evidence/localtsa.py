"""A local RFC 3161 time-stamping authority for the demo (`manage.py run_local_tsa`) and the tests.

It makes a throw-away CA and a TSA certificate signed by it (with the critical extended key usage
id-kp-timeStamping that RFC 3161 § 2.3 requires), and answers HTTP POSTs of `application/timestamp-query`
by running `openssl ts -reply` — the same tool an expert uses to check the tokens — so nothing here signs
tokens by hand. It is not a trusted authority: a court accepts tokens from an accredited TSA only.

`include_chain` makes it embed the CA certificate in each token as well (most real TSAs send a chain).
Failure modes the tests need are switches on the server (`mode`): `ok`, `error` (HTTP 500), `other_hash`
(a token for another digest), `other_nonce` (a token answering another nonce), and `skew_seconds` runs
`openssl` under `faketime` so its clock is off by that much."""

import datetime
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POLICY = "1.3.6.1.4.1.4146.9999.1"  # a private test policy, never one of a real TSA
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
OPENSSL = shutil.which("openssl") or "openssl"

CONFIG = """\
[ tsa ]
default_tsa = local_tsa

[ local_tsa ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
{certs}signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kameng local TSA (not trusted)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_authority(directory: Path, *, name: str = "Kameng Local TSA", days: int = 3650) -> Path:
    """Write ca.key, ca.pem, tsa.key, tsa.pem, serial and openssl.cnf into `directory` (kept if present)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "openssl.cnf").exists() and (directory / "tsa.pem").exists():
        return directory
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name(f"{name} Root CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=days))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca_name)
                .public_key(tsa_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
    for filename, data in (("ca.key", _pem_key(ca_key)), ("tsa.key", _pem_key(tsa_key))):
        path = directory / filename
        path.write_bytes(data)
        os.chmod(path, 0o600)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "tsa.pem").write_bytes(tsa_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "serial").write_text("01\n")
    write_config(directory)
    return directory


def write_config(directory: Path, *, include_chain: bool = False) -> None:
    """`include_chain` puts the CA certificate in every token too, as many real TSAs do (OpenSSL then writes
    the certificates in a non-DER order: the case `timestamps.decode` handles)."""
    certs = f"certs = {directory}/ca.pem\n" if include_chain else ""
    (directory / "openssl.cnf").write_text(CONFIG.format(dir=directory, policy=POLICY, certs=certs))


def _rewrite_query(query: bytes, *, digest: bytes | None = None, nonce: int | None = None) -> bytes:
    request = tsp.TimeStampReq.load(query)
    imprint = request["message_imprint"]
    fields = {"version": "v1",
              "message_imprint": {"hash_algorithm": imprint["hash_algorithm"].native,
                                  "hashed_message": digest if digest is not None else imprint["hashed_message"].native},
              "cert_req": request["cert_req"].native}
    if nonce is not None or request["nonce"].native is not None:
        fields["nonce"] = nonce if nonce is not None else request["nonce"].native
    return tsp.TimeStampReq(fields).dump()


class LocalTSA:
    """`with LocalTSA(directory, port=...) as tsa:` serves http://127.0.0.1:<port>/ until the block ends."""

    def __init__(self, directory: Path | None = None, *, port: int = 0, host: str = "127.0.0.1",
                 name: str = "Kameng Local TSA", include_chain: bool = False):
        self.directory = make_authority(Path(directory or tempfile.mkdtemp(prefix="kameng-tsa-")), name=name)
        write_config(self.directory, include_chain=include_chain)
        self.host, self.port = host, port
        self.mode = "ok"
        self.skew_seconds = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def cert_file(self) -> Path:
        return self.directory / "tsa.pem"

    def reply(self, query: bytes) -> bytes:
        """Sign a DER TimeStampReq with `openssl ts -reply`, in the current mode."""
        if self.mode == "other_hash":
            query = _rewrite_query(query, digest=hashlib.sha256(b"another file").digest())
        elif self.mode == "other_nonce":
            query = _rewrite_query(query, nonce=12345)
        with self._lock, tempfile.TemporaryDirectory(prefix="tsa-req-") as work:
            qfile, rfile = Path(work) / "q.tsq", Path(work) / "r.tsr"
            qfile.write_bytes(query)
            command = [OPENSSL, "ts", "-reply", "-config", str(self.directory / "openssl.cnf"),
                       "-queryfile", str(qfile), "-out", str(rfile)]
            if self.skew_seconds:
                command = [shutil.which("faketime") or "faketime", "-f", f"{self.skew_seconds:+d}s", *command]
            done = subprocess.run(command, capture_output=True, timeout=30, check=False)  # noqa: S603
            if done.returncode != 0 or not rfile.exists():
                raise RuntimeError(done.stderr.decode(errors="replace"))
            return rfile.read_bytes()

    def start(self) -> "LocalTSA":
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                tsa.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 64 * 1024))
                if tsa.mode == "error":
                    return self._send(500, b"TSA unavailable", "text/plain")
                if self.headers.get("Content-Type", "").split(";")[0].strip() != QUERY_TYPE:
                    return self._send(415, b"expected application/timestamp-query", "text/plain")
                try:
                    reply = tsa.reply(body)
                except Exception as exc:  # a malformed query: say so, as a TSA would
                    return self._send(400, str(exc).encode()[:500], "text/plain")
                return self._send(200, reply, REPLY_TYPE)

            def _send(self, code, body, content_type):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-tsa", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_forever(self) -> None:
        self.start()
        assert self._thread is not None
        self._thread.join()

    def __enter__(self) -> "LocalTSA":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
