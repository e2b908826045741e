"""Named events of the evidence app. Higher apps (escalation) subscribe in their `ready()`, so `evidence`
never imports them (STYLE.md: imports only downwards)."""

from django.dispatch import Signal

# case=<Case>, evidence=<Evidence>, at=<datetime>: an item was added to the case's evidence, inside the
# writing transaction (escalation: proof of the problem meets the 24 h preservation clock, seed 004).
evidence_added = Signal()

# case=<Case>, lang=<str>: the case bundle is being put together; a receiver answers with the complaint
# letter's text in `lang` (escalation, which writes the letter). No receiver: the bundle's letter is empty.
bundle_letter_requested = Signal()
