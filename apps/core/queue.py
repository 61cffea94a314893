"""Celery tasks looked up by name.

An app's tasks.py wraps its services, so a service that enqueues one of those tasks may not
import tasks.py back (an import cycle; tests/core/test_layers.py), and an app may not import the
tasks of an app above it (the layers, pyproject.toml). Both send the task by its name.
"""

from celery import current_app


def task_named(name: str):
    """The registered task `name`, or None when no installed app defines it. Outside a worker the
    apps' task modules load on demand: a name not yet known imports them first (autodiscovery)."""
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()
    return tasks.get(name)


def enqueue(name: str, *args) -> None:
    """Send the task `name` with `args` (run at once under CELERY_TASK_ALWAYS_EAGER, as `delay`
    does). LookupError when no installed app defines it."""
    task = task_named(name)
    if task is None:
        raise LookupError(f"No Celery task is named {name!r}.")
    task.delay(*args)
