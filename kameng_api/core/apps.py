from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kameng_api.core"
    label = "core"
    verbose_name = _("Audit and infrastructure")

    def ready(self):
        from django.contrib import admin

        from . import crypto
        from .second_factor import AdminLoginForm

        # Personal data keys (crypto.py): a bad key stops the process at start, not at the first read; with
        # none configured (the embedded default) the key file is made now and the log says where.
        crypto.check_keys()

        # The admin's login asks for the one-time code where it is required (second_factor.py).
        admin.site.login_form = AdminLoginForm
        admin.site.login_template = "admin/kameng_login.html"
