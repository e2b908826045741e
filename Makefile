# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Exact versions with their hashes (README, "Reproducible installs"): dev.lock for a developer and CI,
# prod.lock (no dev extra) for the image. `make lock` writes both from pyproject.toml.
LOCK := requirements/dev.lock
PROD_LOCK := requirements/prod.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
UV ?= $(if $(wildcard $(BIN)/uv),$(BIN)/uv,uv)
UV_COMPILE := pip compile pyproject.toml --python-version 3.11 --universal --generate-hashes --quiet $(if $(UPGRADE),--upgrade)
PORT ?= 8000

.PHONY: install lock run test lint typecheck bench bench-tools browser cluster clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)  ## virtualenv and the locked dependencies only

lock:  ## rewrite requirements/*.lock from pyproject.toml, keeping pinned versions (UPGRADE=1: the newest allowed)
	$(UV) $(UV_COMPILE) -o $(PROD_LOCK)
	$(UV) $(UV_COMPILE) --extra dev --constraint $(PROD_LOCK) -o $(LOCK)  # the same versions as the image

run: install  ## migrate, load demo data, start the API, a Celery worker and beat
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	PORT=$(PORT) ./scripts/run.sh

test: install  ## the whole suite (PostgreSQL and a real worker on Redis when DATABASE_URL/REDIS_URL are set)
	$(BIN)/python -m pytest --create-db $(PYTEST_ARGS)

# check --deploy on the production settings, which refuse to load without their variables: give
# placeholders (nothing is connected to).
browser: install  ## Debian's Chromium and CJK fonts for the admin's browser test (Playwright drives the system browser)
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium fonts-noto-cjk; fi; \
	fi

typecheck: install  ## mypy with the Django and DRF plugins ([tool.mypy] in pyproject.toml)
	$(BIN)/mypy

lint: install typecheck
	$(BIN)/ruff check .
	DJANGO_SECRET_KEY=check-only-$$(date +%s)-not-a-real-secret-key-0123456789abcdef \
	DJANGO_ALLOWED_HOSTS=api.example.cn DATABASE_URL=postgres://check@127.0.0.1:5432/check \
	REDIS_URL=redis://127.0.0.1:6379/0 EMAIL_URL=smtp+tls://check:check@smtp.example.cn:587 \
	DJANGO_DEFAULT_FROM_EMAIL='Kameng API <noreply@example.cn>' KAMENG_ENV_FILE=/dev/null \
	KAMENG_DATA_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= KAMENG_BLIND_INDEX_KEY=check-only-blind-index-key-0123456789 \
		$(BIN)/python manage.py check --deploy --fail-level WARNING --settings=kameng_api.settings.production

cluster: install  ## two web nodes, two workers, two beats and SeaweedFS on DATABASE_URL/REDIS_URL (README)
	./scripts/cluster.sh

bench: install bench-tools  ## benchmarks under bench/ (print figures; never assert)
	$(BIN)/python bench/run_all.py

bench-tools:  ## wrk, the HTTP load generator of bench/api_throughput.py (Debian package; else its asyncio client)
	@command -v wrk >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
		{ apt-get install -y wrk >/dev/null 2>&1 || sudo -n apt-get install -y wrk >/dev/null 2>&1; }; } || \
		echo "wrk is not installed: bench/api_throughput.py uses its asyncio client instead"

clean:
	rm -rf $(VENV) var
