"""The notifications app's answers to the cases app's events (cases/events.py), connected in `ready()`."""


def on_case_event_recorded(sender, event, **kwargs):
    from .services import event_publish

    event_publish(event)
