"""RFC 3161 trusted timestamps: ask a time-stamping authority (TSA) to sign a SHA-256, and check what it
signed. No database here, so the service, `verify/` and the offline `verify_bundle` check alike.

Why: the hash chain shows a later change only to someone who trusts our database. A token from an
independent TSA binds a file's SHA-256 (and each chain head) to a time nobody here can move — what
《最高人民法院关于互联网法院审理案件若干问题的规定》 (法释〔2018〕16号) art. 11 calls 可信时间戳.

Libraries, no hand-written ASN.1: the request is built with `asn1crypto` (rfc3161-client only builds
requests over data it hashes itself, and an evidence file may be gigabytes: we already hold its digest);
the reply is parsed and its CMS signature verified against the configured trust anchors by `rfc3161-client`
(OpenSSL underneath); certificates are read with `cryptography`.

Clock skew: a token's genTime must lie between the moment we sent the request and the moment the answer
arrived, widened by the TSA's declared accuracy and by `KAMENG_TSA_MAX_SKEW` (default 300 s, the same
5 minutes the case services allow a client's clock). A TSA whose clock is further off is treated like a
broken one: its token is refused and the next TSA (or a later attempt) is tried, because a time that is
wrong by more than that is worth nothing as proof."""

import base64
import datetime
import hashlib
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import cms as asn1_cms
from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import PKIStatus, VerificationError, VerifierBuilder, decode_timestamp_response

# Why a court accepts the token (carried in every bundle's manifest). Read from secondary sources quoting the
# text (news reports of 2018-09-07/10 and 《法律适用》2025 No. 7), not from the official gazette: unconfirmed.
LEGAL_BASIS = {
    "title": "最高人民法院关于互联网法院审理案件若干问题的规定",
    "number": "法释〔2018〕16号",
    "article": "第十一条第二款",
    "effective_from": "2018-09-07",
    "text": "当事人提交的电子数据，通过电子签名、可信时间戳、哈希值校验、区块链等证据收集、固定和防篡改的技术手段"
            "或者通过电子取证存证平台认证，能够证明其真实性的，互联网法院应当确认。",
    "confirmed": False,
    "note": "quoted from secondary sources; the document number and date are unconfirmed against the official text",
    "standard": "RFC 3161 (Time-Stamp Protocol), RFC 5816 (ESSCertIDv2)",
}

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY = 256 * 1024


class TimestampError(Exception):
    """A TSA could not be used: unreachable, refused, or its token did not check out."""


@dataclass(frozen=True)
class Trust:
    """What a token must chain to: the configured CA bundle (roots and intermediates), optionally the TSA
    signing certificates themselves (then the token must be signed by one of those)."""

    roots: tuple = ()
    intermediates: tuple = ()
    pinned: tuple = ()

    @classmethod
    def from_pem(cls, ca_pem: bytes, tsa_pem: bytes = b"") -> "Trust":
        certs = x509.load_pem_x509_certificates(ca_pem) if ca_pem.strip() else []
        roots = tuple(c for c in certs if c.issuer == c.subject)
        intermediates = tuple(c for c in certs if c.issuer != c.subject)
        pinned = tuple(x509.load_pem_x509_certificates(tsa_pem)) if tsa_pem.strip() else ()
        return cls(roots=roots, intermediates=intermediates, pinned=pinned)

    @classmethod
    def from_files(cls, ca_file: str | Path | None, tsa_file: str | Path | None = None) -> "Trust":
        ca = Path(ca_file).read_bytes() if ca_file else b""
        tsa = Path(tsa_file).read_bytes() if tsa_file else b""
        return cls.from_pem(ca, tsa)

    def pem(self) -> str:
        return "".join(c.public_bytes(Encoding.PEM).decode() for c in (*self.roots, *self.intermediates))


@dataclass
class TokenFacts:
    gen_time: datetime.datetime
    serial: str
    tsa_name: str
    policy: str
    nonce: int | None
    imprint: str
    accuracy_seconds: float
    signer_pem: str = ""
    extra: dict = field(default_factory=dict)


def build_request(digest_hex: str) -> tuple[bytes, int]:
    """A DER TimeStampReq over a SHA-256 we already have, with a fresh 63-bit nonce and certReq set
    (so the token carries the TSA's certificate)."""
    nonce = secrets.randbits(63) | 1
    request = asn1_tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": bytes.fromhex(digest_hex)},
        "nonce": nonce,
        "cert_req": True,
    })
    return request.dump(), nonce


def decode(token: bytes):
    """Parse a reply with rfc3161-client. Its parser is strict DER; many TSAs (OpenSSL's `certs =` option,
    Microsoft's, Bouncy Castle's) put the certificate chain in a SET OF that is not in DER order. That set is
    not covered by the signature, so it is re-sorted (asn1crypto) for parsing only; the stored token stays the
    TSA's own bytes, which is what `openssl ts -verify` reads."""
    try:
        return decode_timestamp_response(token)
    except ValueError as exc:
        if "SetOrdering" not in str(exc):
            raise
    response = asn1_tsp.TimeStampResp.load(token)
    signed = response["time_stamp_token"]["content"]
    signed["certificates"] = asn1_cms.CertificateSet(sorted(signed["certificates"], key=lambda cert: cert.dump()))
    return decode_timestamp_response(response.dump(force=True))


def _name_of(general_name) -> str:
    value = getattr(general_name, "value", general_name)
    if isinstance(value, x509.Name):
        cn = value.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(cn[0].value) if cn else value.rfc4514_string()
    return str(value)


def _signer(response) -> x509.Certificate | None:
    certs = [x509.load_der_x509_certificate(der) for der in response.signed_data.certificates]
    infos = list(response.signed_data.signer_infos)
    if len(infos) != 1:
        return None
    info = infos[0]
    for cert in certs:
        if cert.issuer == info.issuer and cert.serial_number == info.serial_number:
            return cert
    return None


def _accuracy(info) -> float:
    try:
        acc = info.accuracy
    except Exception:  # the field is optional
        return 0.0
    if acc is None:
        return 0.0
    return (acc.seconds or 0) + (acc.millis or 0) / 1000 + (acc.micros or 0) / 1_000_000


def facts_of(token: bytes) -> TokenFacts:
    """What a token says, without judging it (for display). Raises TimestampError if it is not a token."""
    try:
        response = decode(token)
        info = response.tst_info
    except Exception as exc:
        raise TimestampError(f"not an RFC 3161 time-stamp response ({exc})") from exc
    signer = _signer(response)
    name = _name_of(info.name) if info.name is not None else ""
    if not name and signer is not None:
        name = _name_of(signer.subject)
    return TokenFacts(
        gen_time=info.gen_time.astimezone(datetime.UTC) if info.gen_time.tzinfo else
        info.gen_time.replace(tzinfo=datetime.UTC),
        serial=str(info.serial_number), tsa_name=name, policy=info.policy.dotted_string,
        nonce=info.nonce, imprint=info.message_imprint.message.hex(), accuracy_seconds=_accuracy(info),
        signer_pem=signer.public_bytes(Encoding.PEM).decode() if signer is not None else "",
    )


def verify_token(token: bytes, *, digest_hex: str, trust: Trust, nonce: int | None = None,
                 sent_at: datetime.datetime | None = None, received_at: datetime.datetime | None = None,
                 max_skew: float = 300.0) -> TokenFacts:
    """Check a token: granted; the CMS signature verifies and the signer chains to `trust` (with the critical
    id-kp-timeStamping usage); the imprint is `digest_hex`; the nonce is ours (on receipt); genTime inside the
    window [sent_at, received_at] ± (accuracy + max_skew) when those are given. Raises TimestampError."""
    if not trust.roots:
        raise TimestampError("no TSA CA certificate is configured to check the token against")
    try:
        response = decode(token)
    except Exception as exc:
        raise TimestampError(f"not an RFC 3161 time-stamp response ({exc})") from exc
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        text = "; ".join(response.status_string or []) or PKIStatus(response.status).name
        raise TimestampError(f"the TSA refused the request ({text})")
    facts = facts_of(token)
    if facts.imprint != digest_hex.lower():
        raise TimestampError(f"the token is for another hash ({facts.imprint}, expected {digest_hex.lower()})")
    if nonce is not None and facts.nonce != nonce:
        raise TimestampError("the token answers another request (nonce mismatch)")
    errors = []
    for pinned in trust.pinned or (None,):
        builder = VerifierBuilder(roots=list(trust.roots), intermediates=list(trust.intermediates),
                                  tsa_certificate=pinned, nonce=nonce)
        try:
            builder.build().verify(response, bytes.fromhex(digest_hex))
            break
        except (VerificationError, ValueError) as exc:
            errors.append(str(exc))
    else:
        raise TimestampError("the token's signature does not verify against the configured TSA certificates ("
                             + "; ".join(dict.fromkeys(errors)) + ")")
    if sent_at is not None and received_at is not None:
        slack = datetime.timedelta(seconds=max_skew + facts.accuracy_seconds)
        if facts.gen_time < sent_at - slack or facts.gen_time > received_at + slack:
            off = (facts.gen_time - sent_at).total_seconds() if facts.gen_time < sent_at \
                else (facts.gen_time - received_at).total_seconds()
            raise TimestampError(f"the TSA's clock is off by {off:+.0f} s (genTime {facts.gen_time.isoformat()}; "
                                 f"tolerance ±{max_skew:.0f} s plus the token's accuracy)")
    return facts


def _auth_header(url: str, username: str, password: str) -> tuple[str, str | None]:
    """Credentials in the URL (https://user:pass@host/) win over the global ones; both become Basic auth."""
    parts = urllib.parse.urlsplit(url)
    if parts.username:
        username, password = urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or "")
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if not username:
        return url, None
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return url, f"Basic {raw}"


def post_query(url: str, query: bytes, *, timeout: float, username: str = "", password: str = "",
               ssl_context=None) -> bytes:
    """POST a TimeStampReq (RFC 3161 § 3.4, HTTP transport); the reply's bytes, or TimestampError."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TimestampError(f"unsupported TSA URL scheme {parts.scheme!r}")
    target, auth = _auth_header(url, username, password)
    headers = {"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE}
    if auth:
        headers["Authorization"] = auth
    request = urllib.request.Request(target, data=query, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ssl_context) as answer:  # noqa: S310
            body = answer.read(MAX_REPLY + 1)
    except urllib.error.HTTPError as exc:
        raise TimestampError(f"HTTP {exc.code} from the TSA") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TimestampError(f"TSA unreachable ({reason})") from exc
    if len(body) > MAX_REPLY:
        raise TimestampError("the TSA's answer is too large to be a time-stamp response")
    return body


def tsr_sha256(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()


def display_url(url: str) -> str:
    """The URL without credentials, for logs, statuses and the bundle."""
    parts = urllib.parse.urlsplit(url)
    if not parts.username:
        return url
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
