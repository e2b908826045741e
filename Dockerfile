FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=kameng_api.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The locked production dependencies (exact versions, hashes checked), then the project itself without
# resolving anything again (README, "Reproducible installs").
COPY requirements/prod.lock ./requirements/prod.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/prod.lock
COPY pyproject.toml README.md ./
COPY kameng_api ./kameng_api
COPY cases ./cases
COPY evidence ./evidence
COPY escalation ./escalation
COPY notifications ./notifications
COPY stats ./stats
COPY privacy ./privacy
COPY procedure ./procedure
COPY demo ./demo
COPY locale ./locale
COPY manage.py gunicorn.conf.py ./
RUN pip install --no-cache-dir --no-deps -e . \
    && DJANGO_SETTINGS_MODULE=kameng_api.settings.local KAMENG_DATA_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
       KAMENG_BLIND_INDEX_KEY=build-only-no-data-is-written-0123456789 python manage.py collectstatic --noinput \
    && useradd --create-home kameng && mkdir -p /app/var/media && chown -R kameng /app/var
USER kameng
EXPOSE 8000
STOPSIGNAL SIGTERM
CMD ["gunicorn", "kameng_api.wsgi:application", "-c", "gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
