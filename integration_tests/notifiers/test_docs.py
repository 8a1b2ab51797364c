"""The how-to pages show code that is tested here, not a copy that drifts."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def python_blocks(page: str) -> list[str]:
    text = (ROOT / "docs" / "how-to" / page).read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_custom_notifier_page_shows_the_tested_webhook_notifier():
    notifier = (Path(__file__).parent / "webhook_notifier.py").read_text()
    assert python_blocks("custom-notifier.md")[0] == notifier


@pytest.mark.parametrize("page", ["custom-notifier.md", "notifications.md"])
def test_python_examples_compile(page):
    for block in python_blocks(page):
        try:
            compile(block, page, "exec")
        except SyntaxError:
            compile("{" + block + "}", page, "exec")  # a fragment of a settings dict


@pytest.mark.django_db(transaction=True)
def test_the_custom_backend_page_runs_and_stops_tasks(settings):
    """The page's ThreadBackend, as written, runs a task and stops one from its own thread."""
    import sys
    import time
    import types

    from eztaskmanager.models import LaunchReport
    from eztaskmanager.services.queues import get_task_service
    from testsupport.tasks import make_task

    module = types.ModuleType("docs_thread_backend")
    exec(compile(python_blocks("custom-backend.md")[0], "custom-backend.md", "exec"), vars(module))
    sys.modules[module.__name__] = module
    settings.EZTASKMANAGER = {"BACKEND": "docs_thread_backend.ThreadBackend"}
    backend = get_task_service()

    def wait_for(condition, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    quick = backend.add(make_task("test_livelogging_command", "--limit=3,--sleep=0"))
    wait_for(lambda: LaunchReport.objects.get(pk=quick.pk).state == "finished", "the quick run")
    assert LaunchReport.objects.get(pk=quick.pk).invocation_result == "ok"
    long = backend.add(make_task("test_livelogging_command", "--limit=500,--sleep=0.05", name="x"))
    wait_for(lambda: LaunchReport.objects.get(pk=long.pk).state == "running", "the long run")
    backend.stop(long, by="the docs")
    wait_for(lambda: LaunchReport.objects.get(pk=long.pk).state == "finished", "the stop")
    assert LaunchReport.objects.get(pk=long.pk).invocation_result == "stopped"
    backend.pool.shutdown(wait=True)
    del sys.modules[module.__name__]
