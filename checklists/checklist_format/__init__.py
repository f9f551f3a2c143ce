"""How a checklist is written down: its YAML files (the seed and teams' own) and versions' diffs."""
