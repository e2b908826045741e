"""The escalation app's answers to the events of cases and evidence (cases/events.py, evidence/events.py),
connected in `ready()`."""


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


def on_evidence_added(sender, case, evidence, at, **kwargs):
    """Seed 004: save proof of the problem within 24 h of finding it; an item of the problem stage does."""
    from evidence.codes import Stage

    from .codes import DeadlineKind
    from .services import deadline_meet

    if evidence.stage == Stage.PROBLEM:
        deadline_meet(case=case, kind=DeadlineKind.EVIDENCE_PRESERVATION, at=at)


def on_bundle_letter_requested(sender, case, lang, **kwargs):
    from .letter import letter_text

    return letter_text(case, lang)
