from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = _("Stats")

    def ready(self):
        from cases.models import Merchant, Platform

        from . import answers

        def renew_answers(sender, **kwargs):  # a platform's or merchant's name is in the answers
            answers.renew()

        for model in (Platform, Merchant):
            post_save.connect(renew_answers, sender=model, weak=False,
                              dispatch_uid=f"stats-answers-{model.__name__}-save")
            post_delete.connect(renew_answers, sender=model, weak=False,
                                dispatch_uid=f"stats-answers-{model.__name__}-delete")
