from django.apps import AppConfig


class LibraryConfig(AppConfig):
    """Stands for an app of an existing project, with management commands of its own."""

    name = "library"
    verbose_name = "Library"
