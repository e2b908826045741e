"""Staff tokens (API.md, "Sessions and tokens"): django-rest-knox keeps only a SHA-512 digest of each
token, every login issues a new one with its own expiry, and `DELETE auth/token/` revokes the one used."""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import exceptions


class StaffTokenAuthentication(TokenAuthentication):
    """knox's scheme with a malformed header refused as a 401 instead of an error."""

    def authenticate_credentials(self, token):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        return super().authenticate_credentials(token)


def token_issue(*, user) -> tuple[AuthToken, str]:
    """A new token for one login. Expired tokens of the user are dropped, and beyond
    `REST_KNOX["TOKEN_LIMIT_PER_USER"]` live tokens the oldest are revoked."""
    now = timezone.now()
    AuthToken.objects.filter(user=user, expiry__lt=now).delete()
    limit = settings.REST_KNOX.get("TOKEN_LIMIT_PER_USER")
    if limit:
        stale = AuthToken.objects.filter(user=user).order_by("-created").values_list("digest", flat=True)[limit - 1:]
        AuthToken.objects.filter(digest__in=list(stale)).delete()
    return AuthToken.objects.create(user=user)


def token_revoke(*, token: AuthToken) -> None:
    AuthToken.objects.filter(digest=token.digest).delete()
