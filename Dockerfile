# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RELEASEGATE_DATA_DIR=/var/lib/releasegate
# git: the scanners read repositories through git plumbing (checklists/git/repo.py).
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 releasegate \
    && mkdir -p /var/lib/releasegate && chown releasegate /var/lib/releasegate

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
RUN pip install --no-cache-dir -c constraints.txt .
COPY . .
# collectstatic needs settings, not secrets: a throwaway key for this one build step.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

USER releasegate
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "releasegate.wsgi"]
