# One image for every role; docker-compose.yml picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY setup.cfg pyproject.toml README.md ./
COPY engine engine
COPY web web
COPY workers workers
COPY cli cli
COPY prompts prompts
COPY pinescript_templates pinescript_templates
COPY migrations migrations
COPY alembic.ini ./
RUN pip install --no-cache-dir -e .
RUN useradd --create-home pineforge && mkdir -p /app/var && chown pineforge /app/var
USER pineforge
EXPOSE 8000
CMD ["pineforge", "serve", "--host", "0.0.0.0", "--port", "8000"]
