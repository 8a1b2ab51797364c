"""The demo's docker-compose stack, checked without Docker (which these machines lack).

The YAML is parsed as Compose reads it (anchors, merge keys, ``${VAR}`` from ``.env``);
each service's command must be a start script that the image installs and that runs the
right process; and the demo's settings, given a service's environment, must pick
PostgreSQL, the service's Redis and the backend of the profile.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import yaml
except ImportError:  # pragma: no cover - a missing test dependency must fail, not skip
    yaml = None

DEMO_DIR = Path(__file__).resolve().parents[2] / "demoproject"

pytestmark = pytest.mark.integration

EXPECTED_COMMANDS = {
    "web": ("start", "gunicorn demoproject.wsgi"),
    "rqworker": ("start-rqworker", "python manage.py rqworker default"),
    "rqworker-heavy": ("start-rqworker-heavy", "python manage.py rqworker heavy"),
    "rqscheduler": ("start-rqscheduler", "python manage.py rqscheduler"),
    "celeryworker": ("start-celeryworker", "celery -A demoproject worker"),
    "celeryworker-heavy": (
        "start-celeryworker-heavy",
        "celery -A demoproject worker -l info --concurrency 1 -Q heavy",
    ),
    "celerybeat": ("start-celerybeat", "celery -A demoproject beat"),
}
PROFILES = {
    "rq": {"rqworker", "rqworker-heavy", "rqscheduler"},
    "celery": {"celeryworker", "celeryworker-heavy", "celerybeat"},
}


def dotenv() -> dict[str, str]:
    lines = (DEMO_DIR / ".env").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def interpolate(value, variables: dict[str, str]):
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if operator == ":?":
            raise AssertionError(f"{name} is required: {argument}")
        return argument or ""

    value = re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", replace, value.replace("$$", "\0"))
    return value.replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    if yaml is None:
        raise AssertionError("PyYAML is needed to read docker-compose.yml: pip install pyyaml")
    raw = yaml.safe_load((DEMO_DIR / "docker-compose.yml").read_text())
    return interpolate(raw, {**dotenv(), **{"EZTASKMANAGER_DEMO_BACKEND": "rq"}})


def test_stack_has_the_services_of_the_docker_guide(compose):
    services = compose["services"]
    assert set(services) == {*EXPECTED_COMMANDS, "postgres", "redis"}
    for profile, names in PROFILES.items():
        assert {n for n, s in services.items() if profile in s.get("profiles", [])} == names
    always = {name for name, service in services.items() if not service.get("profiles")}
    assert always == {"web", "postgres", "redis"}
    assert dotenv()["COMPOSE_PROFILES"] == dotenv()["EZTASKMANAGER_DEMO_BACKEND"] == "rq"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "127.0.0.1:8000:8000" in services["web"]["ports"]


def test_django_services_share_one_image_and_wait_for_their_services(compose):
    services = compose["services"]
    for name in EXPECTED_COMMANDS:
        service = services[name]
        build = service["build"]
        assert (DEMO_DIR / build["context"] / build["dockerfile"]).resolve() == (
            DEMO_DIR / "Dockerfile"
        )
        assert service["image"] == "eztaskmanager-demo"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["environment"]["POSTGRES_HOST"] == "postgres"
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
    db_env = services["postgres"]["environment"]
    web_env = services["web"]["environment"]
    for key in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):
        assert web_env[key] == db_env[key]


def test_workers_and_web_share_the_artifacts_folder(compose):
    """A worker writes a run's files where the web server reads them for a download."""
    for name in EXPECTED_COMMANDS:
        assert "artifacts:/app/.demo/media" in compose["services"][name]["volumes"], name
    assert "artifacts" in compose["volumes"]


def test_each_command_is_a_start_script_the_image_installs(compose):
    dockerfile = (DEMO_DIR / "Dockerfile").read_text()
    assert "COPY demoproject/compose/start* /usr/local/bin/" in dockerfile
    for name, (script, process) in EXPECTED_COMMANDS.items():
        assert compose["services"][name]["command"] == script
        path = DEMO_DIR / "compose" / script
        assert os.access(path, os.X_OK), f"{path} is not executable"
        text = path.read_text()
        assert text.startswith("#!/bin/sh"), path
        assert f"exec {process}" in text, f"{path} does not run {process!r}"


@pytest.mark.parametrize("backend", ["rq", "celery"])
def test_settings_follow_the_services_environment(compose, backend):
    """Import the demo's settings with a service's environment, as the container would."""
    environment = dict(compose["services"]["web"]["environment"])
    environment["EZTASKMANAGER_DEMO_BACKEND"] = backend
    env = {"PATH": os.environ["PATH"], **{k: str(v) for k, v in environment.items()}}
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps({'db': s.DATABASES['default'], 'backend': s.EZTASKMANAGER['BACKEND'],"
        " 'apps': s.INSTALLED_APPS, 'rq': s.RQ_QUEUES['default']['URL'],"
        " 'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, 'mw': s.MIDDLEWARE}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "demoproject.settings", "PYTHONPATH": str(DEMO_DIR)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings["db"]["HOST"] == "postgres"
    assert settings["db"]["PASSWORD"] == dotenv()["POSTGRES_PASSWORD"]
    assert settings["backend"] == backend
    assert settings["rq"] == settings["broker"] == "redis://redis:6379/0"
    assert settings["debug"] is False
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings["mw"]
    backend_app = {"rq": "eztaskmanager_rq", "celery": "eztaskmanager_celery"}[backend]
    assert backend_app in settings["apps"]
