"""The organization and partner-key models, named by settings as Django names the user model
(`get_user_model()`), so core reads them without importing the app that defines them."""

from django.apps import apps
from django.conf import settings


def api_key_model():
    return apps.get_model(settings.KAMENG_API_KEY_MODEL, require_ready=False)


def organization_model():
    return apps.get_model(settings.KAMENG_ORGANIZATION_MODEL, require_ready=False)
