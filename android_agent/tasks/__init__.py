"""The task suite: templated tasks with random parameters and state-based success checks (AndroidWorld style)."""

from __future__ import annotations

from android_agent.errors import TaskError
from android_agent.tasks import clock, contacts, messages, multi_app, notes, settings, shop
from android_agent.tasks.base import Task

TASKS: dict[str, type[Task]] = {
    cls.name: cls for module in (settings, contacts, messages, clock, notes, shop, multi_app) for cls in module.TASKS
}


def task_class(name: str) -> type[Task]:
    if name not in TASKS:
        raise TaskError(f"unknown task {name!r}; the tasks are: {', '.join(TASKS)}")
    return TASKS[name]
