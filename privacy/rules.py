"""The retention rules as data (README "Personal data (PIPL)").

- PIPL art. 19: personal information is kept for the shortest time the purpose needs. Default: a consumer's
  data is anonymized 3 years after the last of their cases closed (the limitation period for a civil claim
  is 3 years, 民法典 art. 188, so a closed case can still be needed that long). Each organization may set
  its own period.
- Evidence files stay as long as the case record (they are the case's proof), or are deleted when the
  consumer is anonymized, by setting; the evidence hash chain covers hashes, not personal data, and still
  verifies either way.
- Cybersecurity Law (网络安全法) art. 21(3): network logs are kept at least six months. Default 3 years,
  never less than 183 days.
"""

ANONYMIZE_AFTER_DAYS = 3 * 365
AUDIT_LOG_DAYS = 3 * 365
AUDIT_LOG_MIN_DAYS = 183  # six months, Cybersecurity Law art. 21
ANONYMIZE_MIN_DAYS = 1
BATCH = 500


class EvidenceFiles:
    KEEP = "keep"
    DELETE = "delete"
