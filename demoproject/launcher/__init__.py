"""What ``scripts/demo.py`` needs to run the demo: a Redis, and a group of child processes.

Plain Python with no dependency, importable before Django is set up.
"""
