# The image of every docker-compose.yml service that runs AcademicHub (web, migrate, workers,
# beat). tests/ops/test_compose.py runs these build steps and the services' commands here.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY . .
RUN find locale -name django.po -execdir msgfmt django.po -o django.mo \;
# Static files with their hashed names and the manifest, served by whitenoise: collected
# once here with production settings (DEBUG off). Nothing is contacted: these URLs and the
# key exist only for this step, and the containers get their own from the environment.
RUN DEBUG=false SECRET_KEY=collectstatic-at-build-time-signs-nothing-0123456789abcdef \
    ALLOWED_HOSTS=build.invalid SITE_URL=https://build.invalid \
    DATABASE_URL=postgres://build@build.invalid/build REDIS_URL=redis://build.invalid:6379/0 \
    python manage.py collectstatic --noinput
RUN useradd --system --no-create-home academichub
USER academichub
EXPOSE 8000
CMD ["gunicorn", "academichub.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
