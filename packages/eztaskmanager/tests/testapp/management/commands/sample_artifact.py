"""A command that attaches files to its run, each kind of content a command may give."""

import io
import os
import threading
from pathlib import Path

from django.core.files import File
from django.db import connections

from eztaskmanager.artifacts import add_artifact
from eztaskmanager.services.logger import LoggerEnabledCommand

KINDS = ("bytes", "str", "file", "django-file", "pipe", "thread")


class Command(LoggerEnabledCommand):
    help = "Attach artifacts of the kinds given (bytes, str, file, django-file, pipe, thread)"

    def add_arguments(self, parser):
        parser.add_argument("--kind", action="append", choices=KINDS, default=[])
        parser.add_argument("--name", default="", help="The name of every artifact")
        parser.add_argument("--size", type=int, default=0, help="Bytes of a bytes artifact")

    def handle(self, *args, **options):
        for kind in options["kind"] or ["bytes"]:
            name = options["name"] or f"{kind}.out"
            artifact = getattr(self, f"attach_{kind.replace('-', '_')}")(name, options)
            self.logger.info("attached %s: %s", kind, artifact.file.name if artifact else None)

    def attach_bytes(self, name, options):
        return self.add_artifact(name, b"\x00\x01" + b"b" * max(options["size"] - 2, 0))

    def attach_str(self, name, options):
        return self.add_artifact(name, "isbn,title\n978,Città è\n")

    def attach_file(self, name, options):
        with Path(__file__).open("rb") as handle:
            handle.read(10)  # the whole file is kept all the same
            return self.add_artifact(name, handle, content_type="text/x-python")

    def attach_django_file(self, name, options):
        return self.add_artifact(name, File(io.BytesIO(b"from a Django File"), name="ignored"))

    def attach_pipe(self, name, options):
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "wb") as writer:
            writer.write(b"p" * 1000)
        with os.fdopen(read_end, "rb") as reader:
            return self.add_artifact(name, reader)

    def attach_thread(self, name, options):
        """From a thread the command started: the run is the only one of the process."""
        attached = []

        def attach():
            try:
                attached.append(add_artifact(name, b"thread"))
            finally:
                connections.close_all()  # this thread's own

        worker = threading.Thread(target=attach)
        worker.start()
        worker.join()
        return attached[0]
