"""``pip install "django-eztaskmanager[rq,celery]"``: both backends live in one environment.

django-celery-beat would bring python-crontab, whose top-level ``crontab`` module is not
the ``crontab`` module rq-scheduler needs: this package must never depend on it.
"""

import importlib
import importlib.metadata as metadata
from datetime import datetime, timezone

import pytest

from eztaskmanager.registry import BACKENDS_GROUP, load_class

MODULES = [
    "eztaskmanager_rq",
    "eztaskmanager_rq.backend",
    "eztaskmanager_celery",
    "eztaskmanager_celery.backend",
    "eztaskmanager_celery.beat",
    "eztaskmanager_celery.tasks",
    "rq_scheduler",
    "celery.beat",
]


@pytest.mark.parametrize("module", MODULES)
def test_both_backends_import(module):
    importlib.import_module(module)


def test_both_backend_names_resolve():
    rq = load_class("rq", BACKENDS_GROUP, "test")
    celery = load_class("celery", BACKENDS_GROUP, "test")
    assert (rq.__module__, celery.__name__) == ("eztaskmanager_rq.backend", "CeleryBackend")


def test_one_crontab_module_and_it_is_rq_schedulers():
    assert metadata.packages_distributions()["crontab"] == ["crontab"]
    assert "crontab" in {req.split()[0] for req in metadata.requires("rq-scheduler")}
    for absent in ("python-crontab", "django-celery-beat"):
        with pytest.raises(metadata.PackageNotFoundError):
            metadata.distribution(absent)


def test_this_package_does_not_depend_on_django_celery_beat():
    requirements = " ".join(metadata.requires("django-eztaskmanager-celery")).lower()
    assert "django-celery-beat" not in requirements
    assert "crontab" not in requirements


def test_both_crontab_users_work_side_by_side():
    from celery.schedules import crontab as celery_crontab
    from crontab import CronTab

    # parse-crontab's API, the one rq-scheduler calls (python-crontab's differs).
    assert 0 < CronTab("*/5 * * * *").next(default_utc=True) <= 300
    assert (
        celery_crontab(minute="*/5").remaining_estimate(datetime.now(timezone.utc)).total_seconds()
        <= 300
    )
