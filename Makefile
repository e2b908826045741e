# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PORT ?= 8000

.PHONY: install run test lint bench bench-tools browser cluster clean

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

# check --deploy on the production settings, which refuse to load without their variables: give
# placeholders (nothing is connected to).
browser: install  ## Debian's Chromium and CJK fonts for the admin's browser test (Playwright drives the system browser)
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium fonts-noto-cjk; fi; \
	fi

lint: install
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
