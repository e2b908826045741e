from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The load_demo organization signs in to the admin without a second factor (README "Security").
KAMENG_ADMIN_OTP_EXEMPT_ORGS = env.list("KAMENG_ADMIN_OTP_EXEMPT_ORGS", default=["demo-cca"])
