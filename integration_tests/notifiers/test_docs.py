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
