import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasegate.settings")

app = Celery("releasegate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Email tasks live in checklists/notifications.py. The correlation id reaches every
# task through django-guid's Celery integration (DJANGO_GUID in settings.py).
app.autodiscover_tasks(related_name="notifications")
