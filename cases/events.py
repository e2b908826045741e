"""Named events of the cases app, sent inside the writing transaction. Higher apps (escalation,
notifications) subscribe in their `ready()`, so `cases` never imports them (STYLE.md: imports only downwards)."""

from django.dispatch import Signal

# case=<Case>: a complaint was registered (the clocks that run from the start begin).
case_created = Signal()
# case=<Case>, fields=<set[str]>: times or platform corrected (the clocks that start from them move).
case_corrected = Signal()
# case=<Case>: resolved, rejected or withdrawn (no clock keeps running).
case_closed = Signal()
# case=<Case>, actor, waiting=<bool>, note=<str>, at=<datetime|None>: waiting on the consumer began or ended
# (every clock of the case stops or restarts).
case_waiting_changed = Signal()
# event=<CaseEvent>: any event was written to a case's history (webhooks are published from it).
case_event_recorded = Signal()
