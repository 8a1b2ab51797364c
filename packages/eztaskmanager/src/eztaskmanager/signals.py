"""Signals the task manager sends, for the project's own code to listen to."""

from django.dispatch import Signal

# Sent once a run has ended, after the transaction that ended it (outside its lock); the core
# itself prunes old reports and sends notifications from it. Argument: ``report``.
run_finished = Signal()
