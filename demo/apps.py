from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py load_demo`: a year of work for an organization, through every app's services. It sits
    above all apps (it drives each of them), so no app imports it."""

    name = "demo"
    verbose_name = "Demo data"
