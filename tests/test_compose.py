"""The production stack's files, checked without Docker: docker-compose.yml, .env.example, Dockerfile, setup script."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from enrich.embed import MODEL_COSINE_BOUNDS, MODEL_MATCH_POINTS
from mediamon.core.settings import PROJECT_ROOT, Settings

COMPOSE_TEXT = (PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
SETUP_SCRIPT = PROJECT_ROOT / "deploy" / "es-setup.sh"
AIRFLOW = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]
# `${VAR}`, `${VAR:-default}`, `${VAR:?error}`; `$${VAR}` is an escaped dollar, left to the container's shell.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}")


def example_variables() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_every_service_of_the_stack_is_there() -> None:
    assert set(SERVICES) == {
        "setup",
        "elasticsearch",
        "kibana",
        "kibana-objects",
        "postgres",
        "airflow-init",
        *AIRFLOW,
    }


def test_airflow_services_share_the_image_and_environment() -> None:
    first = SERVICES[AIRFLOW[0]]
    assert first["build"]["dockerfile"] == "Dockerfile" and first["image"].startswith("mediamon:")
    for name in [*AIRFLOW, "airflow-init"]:
        service = SERVICES[name]
        assert (service["image"], service["build"], service["volumes"]) == (
            first["image"],
            first["build"],
            first["volumes"],
        )
        assert {k: v for k, v in service["environment"].items() if k != "AIRFLOW_ADMIN_PASSWORD"} == first[
            "environment"
        ]
    commands = {name: SERVICES[name]["command"] for name in AIRFLOW}
    assert commands == {
        "airflow-apiserver": ["airflow", "api-server"],
        "airflow-scheduler": ["airflow", "scheduler"],
        "airflow-dag-processor": ["airflow", "dag-processor"],
        "airflow-triggerer": ["airflow", "triggerer"],
    }
    assert "airflow db migrate" in " ".join(SERVICES["airflow-init"]["command"])
    for name in AIRFLOW:
        assert SERVICES[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
        assert SERVICES[name]["depends_on"]["setup"] == {"condition": "service_completed_successfully"}


def test_airflow_runs_our_dags_on_postgres() -> None:
    env = SERVICES["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/mediamon/dags"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert "COPY dags dags" in DOCKERFILE and "WORKDIR /opt/mediamon" in DOCKERFILE


def test_mediamon_settings_point_at_the_secured_elasticsearch() -> None:
    env = SERVICES["airflow-scheduler"]["environment"]
    assert env["MEDIAMON_ES_URL"] == "https://elasticsearch:9200"
    assert env["MEDIAMON_ES_USERNAME"] and "${MEDIAMON_ES_PASSWORD" in env["MEDIAMON_ES_PASSWORD"]
    ca = Path(env["MEDIAMON_ES_CA_CERT"])
    mounts = {m.split(":")[1]: m.split(":")[0] for m in SERVICES["airflow-scheduler"]["volumes"]}
    assert mounts[str(ca.parent.parent)] == "certs"
    assert "${MEDIAMON_SMTP_URL" in env["MEDIAMON_SMTP_URL"]


def test_mediamon_variables_are_settings() -> None:
    fields = set(Settings.model_fields)
    envs = [SERVICES[name]["environment"] for name in SERVICES if isinstance(SERVICES[name].get("environment"), dict)]
    names = {key for env in envs for key in env if key.startswith("MEDIAMON_")}
    names |= {key for key in example_variables() if key.startswith("MEDIAMON_")}
    cli_only = {"MEDIAMON_KIBANA_USERNAME", "MEDIAMON_KIBANA_PASSWORD", "MEDIAMON_IMAGE_TAG"}
    assert names - cli_only, names
    for name in names - cli_only:
        assert name.removeprefix("MEDIAMON_").lower() in fields, f"{name} is no setting"


def test_every_interpolated_variable_is_in_env_example() -> None:
    used = set(INTERPOLATION.findall(COMPOSE_TEXT))
    documented = example_variables()
    assert used, "no ${VAR} found"
    assert used - set(documented) == set()
    assert set(documented) - used == set(), "variables in .env.example that docker-compose.yml does not use"


def test_secrets_are_required_and_empty_in_the_example() -> None:
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE_TEXT))
    assert {"ELASTIC_PASSWORD", "KIBANA_PASSWORD", "POSTGRES_PASSWORD", "MEDIAMON_ES_PASSWORD"} <= required
    assert {"AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_ADMIN_PASSWORD", "KIBANA_ENCRYPTION_KEY"} <= required
    for name in required - {"MEDIAMON_SMTP_URL"}:
        assert example_variables()[name] == "", f"{name} must not ship a value"


def test_env_example_documents_every_variable() -> None:
    for block in re.split(r"\n\s*\n", ENV_EXAMPLE):
        lines = block.strip().splitlines()
        first_var = next((i for i, line in enumerate(lines) if not line.startswith("#")), None)
        if first_var is not None:
            assert first_var > 0 and lines[first_var - 1].startswith("#"), f"undocumented: {lines[first_var]}"
    for line in ENV_EXAMPLE.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", line), line


def test_elasticsearch_has_security_and_tls_on() -> None:
    es = SERVICES["elasticsearch"]
    assert es["image"].startswith("mediamon-elasticsearch:${STACK_VERSION")
    assert es["build"] == {
        "context": "deploy",
        "dockerfile": "elasticsearch.Dockerfile",
        "args": {"STACK_VERSION": "${STACK_VERSION:-9.5.0}"},
    }
    dockerfile = (PROJECT_ROOT / "deploy" / "elasticsearch.Dockerfile").read_text(encoding="utf-8")
    assert "FROM docker.elastic.co/elasticsearch/elasticsearch:${STACK_VERSION}" in dockerfile
    assert "elasticsearch-plugin install --batch analysis-stempel analysis-ukrainian" in dockerfile
    assert example_variables()["STACK_VERSION"].startswith("9.")
    env = es["environment"]
    assert env["xpack.security.enabled"] == "true"
    assert env["xpack.security.http.ssl.enabled"] == "true"
    assert env["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    assert env["discovery.type"] == "single-node"
    assert "${ES_HEAP" in env["ES_JAVA_OPTS"]


def test_kibana_connects_as_kibana_system_with_the_ca() -> None:
    kibana = SERVICES["kibana"]
    assert kibana["image"].startswith("docker.elastic.co/kibana/kibana:${STACK_VERSION")
    env = kibana["environment"]
    assert env["ELASTICSEARCH_HOSTS"] == "https://elasticsearch:9200"
    assert env["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert env["ELASTICSEARCH_PASSWORD"] == SERVICES["setup"]["environment"]["KIBANA_PASSWORD"]
    assert env["ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES"] == "config/certs/ca/ca.crt"
    assert kibana["depends_on"]["elasticsearch"]["condition"] == "service_healthy"


def test_setup_script_sets_the_passwords_it_is_given() -> None:
    setup = SERVICES["setup"]
    assert "./deploy/es-setup.sh:/setup/es-setup.sh:ro" in setup["volumes"]
    script = SETUP_SCRIPT.read_text(encoding="utf-8")
    for name in setup["environment"]:
        assert f"${{{name}" in script, f"the setup script ignores {name}"
    assert "/_security/user/kibana_system/_password" in script
    assert "/_security/user/mediamon" in script
    result = subprocess.run(["bash", "-n", str(SETUP_SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_kibana_objects_are_imported_with_our_cli() -> None:
    job = SERVICES["kibana-objects"]
    command = " ".join(job["command"])
    assert "mediamon kibana import --url http://kibana:5601" in command
    assert job["depends_on"]["kibana"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    "line",
    [
        "FROM python:3.11",
        "uv sync --frozen --no-dev",
        "COPY pyproject.toml uv.lock",
        "ARG MODEL_NAME=intfloat/multilingual-e5-small",
        "SentenceTransformer('${MODEL_NAME}')",
        "HF_HOME=",
        "HF_HUB_OFFLINE=1",
        "MEDIAMON_MODEL_NAME=${MODEL_NAME}",
        'ARG EMBED_PREFIX="query: "',
        'MEDIAMON_EMBED_PREFIX="${EMBED_PREFIX}"',
        """MEDIAMON_MODEL_LANGUAGES='["*"]'""",
    ],
)
def test_dockerfile(line: str) -> None:
    assert line in DOCKERFILE


def test_dockerfile_downloads_the_model_before_going_offline() -> None:
    assert DOCKERFILE.index("SentenceTransformer(") < DOCKERFILE.index("ENV HF_HUB_OFFLINE=1")
    assert DOCKERFILE.index("uv sync --frozen --no-dev\n") < DOCKERFILE.index("SentenceTransformer(")


def test_dockerignore_keeps_the_local_environment_out() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {".venv", ".mediamon", ".env", ".git"} <= set(ignored)
    for copied in re.findall(r"^COPY (\S+) ", DOCKERFILE, flags=re.M):
        assert copied not in ignored


def test_the_image_model_has_measured_cosine_bounds_and_match_point() -> None:
    model = re.search(r"^ARG MODEL_NAME=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert model is not None
    assert model.group(1) in MODEL_COSINE_BOUNDS  # else its relevance would run on MiniLM's bounds (a guess)
    assert model.group(1) in MODEL_MATCH_POINTS  # else 0.5 on its scale: with narrow bounds, nothing would match
