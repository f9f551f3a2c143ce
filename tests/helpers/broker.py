"""The broker, the one edge the tests replace: what the outbox sends, by task name.

checklists/effects/outbox.py sends every task by its registered name; these record (or
refuse) the messages for the named tasks and let every other message through.
"""

from __future__ import annotations

from celery import current_app


def _replace(monkeypatch, tasks: tuple[str, ...], handle) -> None:
    send = current_app.send_task

    def send_task(name, args=None, kwargs=None, **options):
        if name in tasks:
            return handle(name, tuple(args or ()))
        return send(name, args=args, kwargs=kwargs, **options)

    monkeypatch.setattr(current_app, "send_task", send_task)


def record_sent(monkeypatch, *tasks: str) -> list[tuple[str, tuple]]:
    """The (task name, args) of each message sent for `tasks`, which never reach the broker."""
    sent: list[tuple[str, tuple]] = []
    _replace(monkeypatch, tasks, lambda name, args: sent.append((name, args)))
    return sent


def record_ids(monkeypatch, task: str) -> list:
    """The id (first argument) of each message sent for `task`, which never reach the broker."""
    ids: list = []
    _replace(monkeypatch, (task,), lambda name, args: ids.append(args[0]))
    return ids


def refuse(monkeypatch, task: str, error: Exception) -> None:
    """The broker is down for `task`: sending it raises `error`."""

    def down(name, args):
        raise error

    _replace(monkeypatch, (task,), down)
