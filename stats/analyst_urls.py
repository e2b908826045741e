"""The analysts' page: `/analyst/` (statistics only), its login and logout."""

from django.urls import path

from . import analyst

urlpatterns = [
    path("", analyst.dashboard, name="analyst"),
    path("login/", analyst.AnalystLoginView.as_view(), name="analyst-login"),
    path("logout/", analyst.AnalystLogoutView.as_view(), name="analyst-logout"),
]
