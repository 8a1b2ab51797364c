"""The states of a run, shared by reports (which go through them) and tasks (whose status
sums up their runs').

A run goes ``queued`` -> ``running`` -> (``stopping`` ->) ``finished``, or straight from
``queued`` to ``finished`` when it is stopped or lost before it starts.
"""

from django.utils.translation import gettext_lazy as _

QUEUED = "queued"
RUNNING = "running"
STOPPING = "stopping"
FINISHED = "finished"
CHOICES = (
    (QUEUED, _("queued")),
    (RUNNING, _("running")),
    (STOPPING, _("stopping")),
    (FINISHED, _("finished")),
)
# A run that has not ended.
ACTIVE = (QUEUED, RUNNING, STOPPING)
# A run that a worker has started and that has not ended.
STARTED = (RUNNING, STOPPING)
