import importlib
from types import SimpleNamespace

import pytest
from django.test import override_settings

from eztaskmanager import moved, registry
from eztaskmanager.backends.immediate import ImmediateBackend
from eztaskmanager.conf import get_config
from eztaskmanager.exceptions import (
    ConfigurationError,
    InvalidName,
    InvalidNotifiers,
    InvalidOptions,
)
from eztaskmanager.notifiers.locmem import LocmemNotifier
from eztaskmanager.services.notifications import NotificationHandler
from eztaskmanager.services.queues import get_task_service


class OptionsBackend(ImmediateBackend):
    """A backend with one required and one optional option."""

    def __init__(self, queue, timeout=None):
        self.queue, self.timeout = queue, timeout


def test_short_name_resolves_through_entry_point():
    assert isinstance(get_task_service(), ImmediateBackend)


def test_backend_is_built_once_and_reset_on_setting_change():
    first = get_task_service()
    assert get_task_service() is first
    with override_settings(EZTASKMANAGER={"BACKEND": "immediate"}):
        assert get_task_service() is not first


def test_dotted_path_and_options():
    path = f"{__name__}.OptionsBackend"
    with override_settings(EZTASKMANAGER={"BACKEND": path, "OPTIONS": {"queue": "low"}}):
        backend = get_task_service()
        assert isinstance(backend, OptionsBackend)
        assert backend.queue == "low"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"BACKEND": "rqq"}, "unknown name 'rqq'; installed: "),
        ({"BACKEND": "nope.Backend"}, "cannot import 'nope.Backend'"),
        ({"BACKEND": ""}, "expected a backend name or a dotted path"),
        ({"BACKEND": f"{__name__}.OptionsBackend"}, 'EZTASKMANAGER["OPTIONS"]:'),
        ({"BACKEND": "immediate", "OPTIONS": {"queue": "x"}}, "takes no options; got queue"),
    ],
)
def test_backend_errors_name_the_setting(config, message):
    with override_settings(EZTASKMANAGER=config), pytest.raises(ConfigurationError) as excinfo:
        get_task_service()
    assert message in str(excinfo.value)
    assert str(excinfo.value).startswith('EZTASKMANAGER["')


def test_known_name_not_installed_names_the_extra(monkeypatch):
    monkeypatch.setattr(registry, "entry_points", lambda **kwargs: [])
    with pytest.raises(ConfigurationError) as excinfo:
        registry.load_class("celery", registry.BACKENDS_GROUP, 'EZTASKMANAGER["BACKEND"]')
    assert 'pip install "django-eztaskmanager[celery]"' in str(excinfo.value)


def test_notifiers_from_dict():
    config = {
        "BACKEND": "immediate",
        "NOTIFIERS": {"mem": {"BACKEND": "locmem", "LEVEL": "warnings"}},
    }
    with override_settings(EZTASKMANAGER=config):
        (notifier,) = registry.get_notifiers()
    assert isinstance(notifier, LocmemNotifier)
    assert (notifier.alias, notifier.level) == ("mem", "warnings")


@override_settings(
    EZTASKMANAGER_QUEUE_SERVICE_TYPE="Immediate",
    EZTASKMANAGER_N_LINES_IN_REPORT_LOG=3,
    EZTASKMANAGER_BASE_URL="https://tm.example.com",
    EZTASKMANAGER_NOTIFICATION_HANDLERS={
        "mem": {
            "class": "eztaskmanager.notifiers.locmem.LocmemNotifier",
            "level": "failure",
        }
    },
)
def test_seed_flat_settings_are_read():
    with override_settings(EZTASKMANAGER=None):
        config = get_config()
        assert config["BACKEND"] == "immediate"
        assert config["REPORT_LOG_TAIL_LINES"] == 3
        assert config["BASE_URL"] == "https://tm.example.com"
        (notifier,) = registry.get_notifiers()
        assert (notifier.alias, notifier.level) == ("mem", "failed")
        assert isinstance(get_task_service(), ImmediateBackend)


@override_settings(EZTASKMANAGER_QUEUE_SERVICE_TYPE="RQ", EZTASKMANAGER={"BACKEND": "immediate"})
def test_dict_wins_over_flat_settings():
    assert get_config()["BACKEND"] == "immediate"


@pytest.fixture
def plugins_missing(monkeypatch):
    """As if no plug-in package were installed."""

    def missing(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(moved, "importlib", SimpleNamespace(import_module=missing))


@pytest.mark.parametrize(
    ("module", "name", "extra"),
    [
        ("notifications", "SlackNotificationHandler", "slack"),
        ("notifications", "EmailNotificationHandler", "email"),
        ("queues", "RQTaskQueueService", "rq"),
        ("queues", "CeleryTaskQueueService", "celery"),
    ],
)
def test_seed_class_paths_name_the_extra_when_missing(plugins_missing, module, name, extra):
    path = f"eztaskmanager.services.{module}.{name}"
    with pytest.raises(ConfigurationError, match=rf'pip install "django-eztaskmanager\[{extra}\]"'):
        registry.load_class(path, registry.NOTIFIERS_GROUP, "X")
    with pytest.raises(AttributeError):
        importlib.import_module(f"eztaskmanager.services.{module}").NoSuchClass  # noqa: B018


class SeesItsAlias(NotificationHandler):
    """A notifier that reads its alias in its constructor."""

    def __init__(self, level="failed", *, alias=""):
        super().__init__(level, alias=alias)
        self.alias_when_built = alias

    def emit(self, report):
        pass


class WrittenBeforeAliases(NotificationHandler):
    """A notifier whose constructor takes no alias (as 1.0's custom notifiers)."""

    def __init__(self, url="", level="failed"):
        super().__init__(level)
        self.url = url

    def emit(self, report):
        pass


class ClosingBackend(ImmediateBackend):
    closed: list = []

    def close(self):
        ClosingBackend.closed.append(self)


def notifiers_config(**notifiers):
    return {"BACKEND": "immediate", "NOTIFIERS": notifiers}


def test_the_alias_is_given_to_the_constructor():
    path = f"{__name__}.SeesItsAlias"
    with override_settings(EZTASKMANAGER=notifiers_config(ops={"BACKEND": path})):
        (notifier,) = registry.get_notifiers()
    assert notifier.alias_when_built == notifier.alias == "ops"


def test_a_notifier_that_takes_no_alias_gets_it_all_the_same():
    definition = {"BACKEND": f"{__name__}.WrittenBeforeAliases", "OPTIONS": {"url": "x"}}
    with override_settings(EZTASKMANAGER=notifiers_config(hook=definition)):
        (notifier,) = registry.get_notifiers()
    assert (notifier.alias, notifier.url) == ("hook", "x")


def test_a_broken_notifier_silences_no_other(caplog):
    config = notifiers_config(
        broken={"BACKEND": "carrier-pigeon"},
        mem={"BACKEND": "locmem"},
        bad_level={"BACKEND": "locmem", "LEVEL": "catastrophic"},
    )
    with override_settings(EZTASKMANAGER=config):
        assert [n.alias for n in registry.get_notifiers()] == ["mem"]
        built, errors = registry.notifiers.build_each()
    assert [n.alias for n in built] == ["mem"]
    assert [type(e) for e in errors] == [InvalidName, InvalidOptions]
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("carrier-pigeon" in line for line in logged)
    assert any("catastrophic" in line for line in logged)


def test_notifiers_that_are_no_dict_build_none(caplog):
    with override_settings(EZTASKMANAGER=notifiers_config() | {"NOTIFIERS": ["mem"]}):
        assert registry.get_notifiers() == []
        _built, (error,) = registry.notifiers.build_each()
    assert isinstance(error, InvalidNotifiers)


def test_one_instance_per_alias_until_the_settings_change():
    with override_settings(EZTASKMANAGER=notifiers_config(a={"BACKEND": "locmem"})):
        first = registry.notifiers["a"]
        assert registry.notifiers["a"] is first
        assert registry.notifiers.all() == [first]
        assert list(registry.notifiers) == ["a"]
        with pytest.raises(ConfigurationError, match=r'\["NOTIFIERS"\]\["b"\] is not configured'):
            registry.notifiers["b"]
    with override_settings(EZTASKMANAGER=notifiers_config(a={"BACKEND": "locmem"})):
        assert registry.notifiers.all(initialized_only=True) == []
        assert registry.notifiers["a"] is not first


def test_a_setting_change_closes_what_was_built():
    ClosingBackend.closed.clear()
    with override_settings(EZTASKMANAGER={"BACKEND": f"{__name__}.ClosingBackend"}):
        backend = get_task_service()
        assert ClosingBackend.closed == []
    assert ClosingBackend.closed == [backend]
