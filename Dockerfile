# The project image: the `orchestrator` command (worker, flower, run, status, ...) and nothing else.
#
#   docker build -t pipeline-orchestrator .
#   docker run --rm -e ORCHESTRATOR_REDIS_URL=redis://redis-host:6379/0 pipeline-orchestrator worker
#
# Steps of type Python call functions importable on the worker: build an image FROM this one that
# adds your code (COPY + pip install), or mount it and set PYTHONPATH. ShellScript steps run bash.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY workers ./workers
COPY strategies ./strategies
RUN pip install . && rm -rf /src

# Never run steps as root (Celery warns about it, and a step is arbitrary code).
RUN useradd --create-home --uid 10001 --shell /bin/bash orchestrator
USER orchestrator
WORKDIR /home/orchestrator

ENTRYPOINT ["orchestrator"]
CMD ["worker"]
