# Two commands a newcomer needs: `make run` and `make test`. The rest are guessable.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: run test lint fmt migrate install lock demo-password

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## make run: SQLite, an embedded broker, web + worker + beat, demo data, on http://127.0.0.1:8000
run: $(STAMP)
	RELEASEGATE_DEMO=1 bash scripts/run.sh

## make test: the whole suite (SQLite here; PostgreSQL/Redis legs when DATABASE_URL/CELERY_BROKER_URL are set)
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrate: $(STAMP)
	$(PY) manage.py migrate

## make lock: pin the transitive dependencies to what is installed now
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
