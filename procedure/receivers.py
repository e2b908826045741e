"""Subscribed in ProcedureConfig.ready to the cases app's events (cases never imports procedure)."""


def on_case_created(sender, case, **kwargs):
    """A complaint registered by a consumer association or a 12315 centre starts its acceptance clock."""
    from .services import procedure_open

    procedure_open(case=case, registered_at=case.created_at, new=True)


def on_case_waiting_changed(sender, case, actor, waiting, note="", at=None, **kwargs):
    """The case waits on the consumer: the procedure's running clock stops too (and restarts with it)."""
    from .codes import WaitingOn
    from .models import Procedure
    from .services import _running_clock, clock_pause, clock_resume

    proc = Procedure.objects.filter(case=case).first()
    if proc is None or _running_clock(proc) is None:
        return
    if waiting and proc.paused_at is None:
        clock_pause(actor=actor, case=case, waiting_on=WaitingOn.CONSUMER, reason=note, at=at)
    elif not waiting and proc.paused_at is not None and proc.paused_waiting_on == WaitingOn.CONSUMER:
        clock_resume(actor=actor, case=case, at=at)
