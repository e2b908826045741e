# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PORT ?= 8000

.PHONY: install run test lint bench cluster clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)  ## virtualenv and dependencies only

run: install  ## migrate, load demo data, start the API, a Celery worker and beat
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	PORT=$(PORT) ./scripts/run.sh

test: install  ## the whole suite (PostgreSQL and a real worker on Redis when DATABASE_URL/REDIS_URL are set)
	$(BIN)/python -m pytest --create-db $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	DJANGO_SECRET_KEY=check-only-$$(date +%s)-not-a-real-secret-key-0123456789abcdef \
		$(BIN)/python manage.py check --deploy --fail-level WARNING --settings=kameng_api.settings.production

cluster: install  ## two web nodes, two workers, two beats and SeaweedFS on DATABASE_URL/REDIS_URL (README)
	./scripts/cluster.sh

bench: install  ## benchmarks under bench/ (print figures; never assert)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var
