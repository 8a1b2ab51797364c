"""Run one task in a process of its own, as a queue worker would: ``python -m ... TASK_ID JOB_ID``."""

import sys

import django


def main() -> None:
    django.setup()
    from eztaskmanager.services import run_management_command

    run_management_command(int(sys.argv[1]), sys.argv[2])


if __name__ == "__main__":
    main()
