"""A second factor (TOTP, django-otp) for signing in to the admin.

The admin shows consumers' personal data, so the administrators of the data sign in with two factors:
MLPS 2.0 level 3 (GB/T 22239-2019 《信息安全技术 网络安全等级保护基本要求》, level 3, 8.1.4.1 身份鉴别 d:
"应采用口令、密码技术、生物技术等两种或两种以上组合的鉴别技术对用户进行身份鉴别，且其中一种鉴别技术至少应使用密码技术来实现";
item b of the same clause asks for login-failure handling, which django-axes gives). Clause letters and
wording as commonly cited: unconfirmed against the official text.

Who needs it (`second_factor_required`):
- supervisors and superusers, always;
- every staff member of an organization whose `require_totp` is set;
- anyone who has registered a TOTP device (opted in);
- nobody in an organization listed in `KAMENG_ADMIN_OTP_EXEMPT_ORGS` (the `load_demo` organization in
  the local settings of `make run`), and nobody when `KAMENG_ADMIN_OTP_ENFORCED` is off (test settings:
  the tests of this module turn it on).
"""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import auth
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kameng_api.core.actors import Actor
from kameng_api.core.roles import Role


def confirmed_totp_devices(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True)


def second_factor_required(user) -> bool:
    if not getattr(settings, "KAMENG_ADMIN_OTP_ENFORCED", True) or not getattr(user, "is_authenticated", False):
        return False
    who = Actor.of(user)
    organization = who.organization
    if organization is not None and organization.slug in settings.KAMENG_ADMIN_OTP_EXEMPT_ORGS:
        return False
    if user.is_superuser or who.role == Role.SUPERVISOR:
        return True
    if organization is not None and organization.require_totp:
        return True
    return confirmed_totp_devices(user).exists()


class AdminLoginForm(AdminAuthenticationForm):
    """Username, password and, where required, the 6-digit code of the user's authenticator app."""

    otp_token = forms.CharField(
        label=_("One-time code"), required=False, max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=_("The 6-digit code of your authenticator app (required for supervisors)."),
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": _("Enter the one-time code of your authenticator app."),
        "otp_invalid": _("The one-time code is wrong or expired."),
        "otp_no_device": _(
            "Your account needs a second factor but has no authenticator registered. "
            "Ask an administrator to run: manage.py enroll_totp <username>."
        ),
    }

    def clean(self):
        cleaned = super().clean()  # password checked (and counted by the lockout)
        user = self.get_user()
        if user is None or not second_factor_required(user):
            return cleaned
        token = (cleaned.get("otp_token") or "").strip().replace(" ", "")
        devices = list(confirmed_totp_devices(user))
        if not devices:
            raise forms.ValidationError(self.error_messages["otp_no_device"], code="otp_no_device")
        if not token:
            raise forms.ValidationError(self.error_messages["otp_required"], code="otp_required")
        for device in devices:
            if device.verify_token(token):
                user.otp_device = device  # type: ignore[attr-defined]  # django_otp marks the session verified on login
                return cleaned
        # A wrong code counts as a failed login for the per-account lockout.
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()},
                               request=self.request)
        raise forms.ValidationError(self.error_messages["otp_invalid"], code="otp_invalid")


class AdminSecondFactorMiddleware:
    """A session that did not pass the second factor (opened before it was required, or by other means)
    may not use the admin: it is logged out and sent to the login page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        admin_root = reverse("admin:index")
        if request.path.startswith(admin_root) and request.path not in (
            reverse("admin:login"), reverse("admin:logout")
        ):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and second_factor_required(user):
                if not (hasattr(user, "is_verified") and user.is_verified()):
                    auth.logout(request)
                    return HttpResponseRedirect(
                        f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
