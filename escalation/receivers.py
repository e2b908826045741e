"""The escalation app's answers to the cases app's events (cases/events.py), connected in `ready()`."""


def on_case_created(sender, case, **kwargs):
    from .services import deadlines_for_new_case

    deadlines_for_new_case(case=case)


def on_case_corrected(sender, case, **kwargs):
    from .services import deadlines_follow_corrected_case

    deadlines_follow_corrected_case(case=case)


def on_case_closed(sender, case, **kwargs):
    from .services import deadlines_cancel_for_closed_case

    deadlines_cancel_for_closed_case(case=case)


def on_case_waiting_changed(sender, case, actor, waiting, note="", at=None, **kwargs):
    from .services import deadlines_follow_waiting

    deadlines_follow_waiting(actor=actor, case=case, waiting=waiting, note=note, at=at)
