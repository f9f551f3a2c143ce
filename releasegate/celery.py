import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasegate.settings")

app = Celery("releasegate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every task lives in checklists/tasks.py. The correlation id reaches every
# task through django-guid's Celery integration (DJANGO_GUID in settings.py).
