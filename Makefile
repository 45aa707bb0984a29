# The two commands a newcomer needs are `make run` and `make test`; see README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench worker serve lint install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: install, migrate, load the demo and serve on http://127.0.0.1:8000
## (development settings: DEBUG on, asked for here and in make test only)
run: export DEBUG = true
run: install
	mkdir -p var
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py setup_periodic_tasks
	@echo "Serving on http://$(HOST):$(PORT)/ (admin: /admin/, customer portal: /portal/)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: the whole suite against throwaway PostgreSQL and Redis, then every
## test that does not pin its own instant again at four hard ones (README)
test: export DEBUG = true
test: install-dev
	scripts/ensure-system-packages
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	scripts/with-services $(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)
	scripts/with-services $(BIN)/python -m pytest --clock=hard \
		-m "not browser and not worker" -n 2 --dist loadgroup -q $(PYTEST_ARGS)

## make bench: benchmarks, printed as a table and saved to bench/results/latest.json
bench: export DEBUG = true
bench: install-dev
	scripts/ensure-system-packages
	scripts/with-services $(BIN)/python -m bench $(BENCH_ARGS)

## make worker: a Celery worker with beat (database scheduler) against Redis
worker: install
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/celery -A billing_site worker --beat --loglevel=info \
		--scheduler django_celery_beat.schedulers:DatabaseScheduler

## make serve: gunicorn with production settings (set SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL)
serve: install
	$(BIN)/python manage.py collectstatic --no-input
	$(BIN)/gunicorn billing_site.wsgi --bind $(HOST):$(PORT) --workers 2

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis bench/results
