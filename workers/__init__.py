"""Celery side: the app, its configuration, step tasks and step executors."""
