from django.db import migrations


def load_seed(apps, schema_editor):
    from checklists.checklist_format.files import SEED_CHECKLIST, parse_checklist, store_checklist

    spec = parse_checklist(SEED_CHECKLIST.read_text())
    store_checklist(
        spec, apps.get_model("checklists", "ChecklistTemplate"), apps.get_model("checklists", "TemplateItem"),
        is_default=True,
    )


def unload_seed(apps, schema_editor):
    apps.get_model("checklists", "ChecklistTemplate").objects.filter(is_default=True, releases=None).delete()


class Migration(migrations.Migration):
    dependencies = [("checklists", "0001_initial")]
    operations = [migrations.RunPython(load_seed, unload_seed)]
