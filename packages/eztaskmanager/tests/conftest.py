"""The core's tests share the ``command`` and ``task`` fixtures of ``testsupport.fixtures``."""
