"""Browser pages, one module per page or section. Views are thin: forms validate (beside them:
release_forms.py, team_forms.py), checklists.workflow decides, templates render."""
