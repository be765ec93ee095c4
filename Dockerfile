# syntax=docker/dockerfile:1
# mediamon's image for the Airflow services of docker-compose.yml (and the `mediamon` CLI): Python 3.11, the locked
# environment (`uv sync --frozen`), our packages, seeds and DAGs, and the production embedding model, downloaded
# at build time so the containers run offline (HF_HUB_OFFLINE=1).
FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.8
ARG MODEL_NAME=intfloat/multilingual-e5-small
# The e5 models' prefix for symmetric similarity, put before every text the model embeds.
ARG EMBED_PREFIX="query: "

ENV PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/mediamon/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    HF_HOME=/opt/huggingface \
    AIRFLOW_HOME=/opt/airflow \
    PATH=/opt/mediamon/.venv/bin:$PATH

RUN pip install --no-cache-dir uv==${UV_VERSION}
WORKDIR /opt/mediamon

# The dependencies first: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# Our code; the project is installed editable, so settings find seeds/ next to the packages.
COPY ingest ingest
COPY enrich enrich
COPY search search
COPY mediamon mediamon
COPY seeds seeds
COPY dags dags
RUN uv sync --frozen --no-dev

# The production model into the image's Hugging Face cache; at run time nothing is downloaded.
RUN python -c "from sentence_transformers import SentenceTransformer; SentenceTransformer('${MODEL_NAME}')" \
    && chmod -R a+rX "${HF_HOME}"
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    MEDIAMON_MODEL_NAME=${MODEL_NAME} \
    MEDIAMON_EMBED_PREFIX="${EMBED_PREFIX}" \
    MEDIAMON_MODEL_LANGUAGES='["*"]'

# The user the Airflow services run as (uid 50000, group 0, as in Airflow's own images); the directories that
# become volumes are created here so new volumes start with this owner.
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --no-create-home airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/passwords /opt/mediamon/data /opt/mediamon/certs \
    && chown -R 50000:0 /opt/airflow /opt/mediamon/data
USER 50000
CMD ["mediamon", "--help"]
