"""The container files in docker/, checked without Docker: the compose topology, the Prometheus
configuration and alert rules, the Grafana dashboard, the nginx configuration, the Dockerfile,
and the image's entrypoint commands run outside a container.

Every metric name a rule or a panel uses must be one straum's code exports (found in the source:
``Counter("…")``, ``Gauge("…")``, ``Histogram("…")``). ``promtool`` and ``nginx`` are used when
they are installed (``promtool check``/``test rules``, ``nginx -t``); without them the same files
get structural checks only, and the tool-based tests are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from connectors.broker.embedded import free_port
from domain.alerts import Thresholds
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
DOCKERIGNORE = DOCKER / "Dockerfile.dockerignore"
PROMETHEUS = DOCKER / "prometheus" / "prometheus.yml"
ALERTS = DOCKER / "prometheus" / "alerts.yml"
ALERT_TESTS = DOCKER / "prometheus" / "alerts.test.yml"
DASHBOARD = DOCKER / "grafana" / "dashboards" / "straum.json"
GRAFANA_DATASOURCES = DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
GRAFANA_DASHBOARDS = DOCKER / "grafana" / "provisioning" / "dashboards" / "straum.yaml"
NGINX = DOCKER / "nginx" / "nginx.conf"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"

BROKERS = ("kafka-1", "kafka-2", "kafka-3")
STRAUM_SERVICES = {"worker": 2, "api": 2, "monitor": 1}
# Series Prometheus itself makes, or every prometheus_client process exports.
BUILTIN_METRICS = {"up", "ALERTS", "process_start_time_seconds"}
# Settings the compose file already sets that straum does not have yet (docs/OPERATIONS.md
# "Known gaps"): allowed while missing, checked like any other once they exist.
PENDING_SETTINGS = {"metrics_host"}
DEFAULTS = Settings.model_fields


def default(name: str) -> Any:
    return DEFAULTS[name].default


@pytest.fixture(scope="module")
def yaml() -> ModuleType:
    """PyYAML (a dev dependency); the YAML checks are skipped without it."""
    return pytest.importorskip("yaml")


def load_yaml(yaml: ModuleType, path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# -- metric names ---------------------------------------------------------------------------

METRIC_CALL = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")


@cache
def exported_metrics() -> frozenset[str]:
    """Every series name straum's processes export, from the metric definitions in the code."""
    names: set[str] = set()
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"]["wheel"]["packages"]
    for package in packages:
        for source in (ROOT / package).rglob("*.py"):
            for kind, name in METRIC_CALL.findall(source.read_text(encoding="utf-8")):
                if kind == "Counter":
                    base = name.removesuffix("_total")
                    names |= {f"{base}_total", f"{base}_created"}
                elif kind == "Gauge":
                    names.add(name)
                else:
                    names |= {name, f"{name}_sum", f"{name}_count", f"{name}_created"}
                    if kind == "Histogram":
                        names.add(f"{name}_bucket")
    return frozenset(names)


PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and labels left out)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # range selectors
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if e[match.end():].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group() not in PROMQL_KEYWORDS:
            names.add(match.group())
    return names


@cache
def broker_metric_patterns() -> tuple[re.Pattern[str], ...]:
    """The series the brokers' JMX exporter makes (connectors/broker/jmx-exporter.yml's rule
    names, lower case, ``$n`` standing for a captured name), and the agent's JVM series."""
    config = (ROOT / "connectors" / "broker" / "jmx-exporter.yml").read_text(encoding="utf-8")
    names = re.findall(r"^\s+name: (\S+)$", config, re.M)
    patterns = [re.compile(re.sub(r"\\\$\d", "[a-z]+", re.escape(n.lower())) + "$")
                for n in names]
    return (*patterns, re.compile(r"jvm_[a-z_]+$"))


def unknown_metrics(expr: str) -> set[str]:
    return {name for name in metric_names(expr) - exported_metrics() - BUILTIN_METRICS
            if not any(p.match(name) for p in broker_metric_patterns())}


def test_metric_name_extraction() -> None:
    assert metric_names('histogram_quantile(0.99, sum by (le, route) (rate('
                        'straum_http_request_duration_seconds_bucket{route=~"/v1/.*"}[5m])))'
                        ) == {"straum_http_request_duration_seconds_bucket"}
    assert metric_names("(min(a) == 0 or max(b) > 4e1) and on () (time() - max(c{job='x'})) > 60"
                        ) == {"a", "b", "c"}
    assert metric_names("topk(10, straum_queue_depth) > 0.8 * 90 * 86400") == {
        "straum_queue_depth"}


def test_the_metrics_the_files_rely_on_are_exported() -> None:
    """The definitions are found at all (a refactor that renames them fails here first)."""
    assert {"straum_forwarding_up", "straum_heartbeat_age_seconds",
            "straum_consumergroup_lag_seconds", "straum_alert_firing",
            "straum_forwarder_series_total", "straum_intake_series_total",
            "straum_http_request_duration_seconds_bucket",
            "straum_dead_letter_topic_records"} <= exported_metrics()


# -- compose -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose(yaml: ModuleType) -> dict[str, Any]:
    return load_yaml(yaml, COMPOSE)  # type: ignore[no-any-return]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_has_the_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {*BROKERS, *STRAUM_SERVICES, "lb", "prometheus", "alertmanager",
                             "grafana"}
    kafka = [name for name, s in services.items() if s["image"].startswith("apache/kafka:")]
    assert sorted(kafka) == list(BROKERS)
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services, f"{name} depends on unknown {dependency}"


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        if name in STRAUM_SERVICES:
            assert service["build"]["dockerfile"] == "docker/Dockerfile"
            assert (COMPOSE.parent / service["build"]["context"]).resolve() == ROOT
            continue
        _, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d+\.\d+\.\d+", tag), (
            f"{name}: {image} is not pinned to a release")


def test_three_brokers_in_one_kraft_quorum(compose: dict[str, Any]) -> None:
    services = compose["services"]
    envs = {name: env_of(services[name]) for name in BROKERS}
    ids = {name: env["KAFKA_NODE_ID"] for name, env in envs.items()}
    assert sorted(ids.values()) == ["1", "2", "3"]
    voters = {f"{ids[name]}@{name}:9093" for name in BROKERS}
    volumes = set()
    for name, env in envs.items():
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert "PLAINTEXT://:9092" in env["KAFKA_LISTENERS"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert "healthcheck" in services[name]
        volumes |= {v.split(":")[0] for v in services[name]["volumes"]
                    if v.split(":")[1] == "/var/lib/kafka/data"}
    assert len({env["CLUSTER_ID"] for env in envs.values()}) == 1
    assert len(volumes) == 3, "each broker needs a volume of its own"


def test_every_broker_runs_the_jmx_exporter_and_prometheus_scrapes_it(
        compose: dict[str, Any], prometheus: dict[str, Any]) -> None:
    from connectors.broker import jmx

    services = compose["services"]
    fetch = services["jmx-exporter"]
    assert f"-Dartifact={jmx.AGENT}" in fetch["command"]
    agent = f"/opt/jmx-exporter/jmx_prometheus_javaagent-{jmx.AGENT_VERSION}.jar"
    for name in BROKERS:
        env = env_of(services[name])
        assert env["KAFKA_OPTS"] == f"-javaagent:{agent}=9404:/etc/jmx-exporter/kafka.yml"
        mounts = {v.split(":")[1]: v.split(":")[0] for v in services[name]["volumes"]}
        assert mounts["/opt/jmx-exporter"] == "jmx-exporter"
        assert (COMPOSE.parent / mounts["/etc/jmx-exporter/kafka.yml"]).resolve() == jmx.CONFIG
        assert services[name]["depends_on"]["jmx-exporter"]["condition"] == \
            "service_completed_successfully"
    targets = jobs(prometheus)["kafka"]["static_configs"][0]["targets"]
    assert targets == [f"{name}:9404" for name in BROKERS]


def test_straum_services_scale_and_agree(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = set()
    for name, replicas in STRAUM_SERVICES.items():
        service = services[name]
        assert service["deploy"]["replicas"] == replicas
        assert "container_name" not in service and "ports" not in service, (
            f"{name} must be scalable: no fixed name, no published port")
        assert service["command"][0] == name
        images.add(service["image"])
        env = env_of(service)
        bootstrap = env["STRAUM_KAFKA_BOOTSTRAP"].split(",")
        assert bootstrap == [f"{broker}:9092" for broker in BROKERS]
        assert env["STRAUM_REPLICATION_FACTOR"] == "3"
        assert env["STRAUM_PARTITIONS"] == "12"
        fields = {k.removeprefix("STRAUM_").lower(): v for k, v in env.items()
                  if k.startswith("STRAUM_")}
        unknown = set(fields) - set(DEFAULTS) - PENDING_SETTINGS
        assert not unknown, f"{name} sets variables straum does not read: {unknown}"
        known = {k: v for k, v in fields.items() if k in DEFAULTS}
        settings = Settings(_env_file=None, **known)  # type: ignore[call-arg]
        assert settings.replication_factor == 3 and settings.partitions == 12
    assert len(images) == 1, "one image for every role"
    api_volumes = dict(v.split(":")[:2] for v in services["api"]["volumes"])
    assert env_of(services["api"])["STRAUM_DATA_DIR"] in api_volumes.values(), (
        "API replicas must share the data directory (the development key)")


def test_the_load_balancer_is_the_only_public_straum_port(compose: dict[str, Any]) -> None:
    services = compose["services"]
    lb = services["lb"]
    assert [p.split(":")[-1] for p in lb["ports"]] == ["8080"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in lb["volumes"]}
    assert (COMPOSE.parent / mounts["/etc/nginx/nginx.conf"]).resolve() == NGINX
    for name in ("prometheus", "alertmanager", "grafana"):
        assert all(p.startswith("127.0.0.1:") for p in services[name]["ports"])


def test_mounted_files_and_volumes_exist(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


# -- the Dockerfile --------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    found = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (k, _) in enumerate(instructions) if k == "FROM")
    return instructions[last_from:]


def test_dockerfile_is_multi_stage_slim_and_pinned() -> None:
    instructions = dockerfile_instructions()
    args = dict(rest.split("=", 1) for k, rest in instructions if k == "ARG" and "=" in rest)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?",
                        args["PYTHON_IMAGE"])
    froms = [rest for k, rest in instructions if k == "FROM"]
    assert len(froms) >= 2 and all(f.startswith("${PYTHON_IMAGE}") for f in froms)
    build = " ".join(rest for k, rest in instructions if k == "RUN")
    assert "pip wheel" in build
    final = final_stage()
    final_runs = " ".join(rest for k, rest in final if k == "RUN")
    for tool in ("apt-get install", "gcc", "build-essential", "curl"):
        assert tool not in final_runs, f"the final image must not install {tool}"
    assert "from=build" in final_runs and "/opt/straum" in final_runs
    assert ("USER", "straum") in final
    assert "--uid 10001" in final_runs


def test_dockerfile_entrypoint_and_healthcheck() -> None:
    final = dict((k, rest) for k, rest in final_stage())
    assert json.loads(final["ENTRYPOINT"]) == ["straum"]
    assert json.loads(final["CMD"]) == ["api", "--host", "0.0.0.0"]
    check = final["HEALTHCHECK"]
    assert "curl" not in check and "wget" not in check
    command = json.loads(check[check.index("CMD") + 3:].strip())
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]


def test_dockerfile_copies_every_package_and_the_ignore_file_lets_them_through() -> None:
    sources = set()
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and not rest.startswith("--"):
            sources |= set(rest.split()[:-1])
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"]["wheel"]["packages"]
    assert set(packages) <= sources, "every package of the wheel must be copied"
    assert {"pyproject.toml", "README.md"} <= sources
    lines = DOCKERIGNORE.read_text().splitlines()
    assert lines.count("*") == 1, "the ignore file is an allow-list"
    allowed = {line.removeprefix("!").rstrip("/") for line in lines if line.startswith("!")}
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path"
        assert source in allowed, f"COPY {source} is excluded by {DOCKERIGNORE.name}"


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_healthcheck_command_tells_healthy_from_not(health_server: int) -> None:
    final = dict((k, rest) for k, rest in final_stage())
    check = final["HEALTHCHECK"]
    code = json.loads(check[check.index("CMD") + 3:].strip())[2]
    env = {k: v for k, v in os.environ.items() if k not in ("HEALTHCHECK_URL",
                                                             "STRAUM_HTTP_PORT")}

    def probe(**extra: str) -> int:
        return subprocess.run([sys.executable, "-c", code], env={**env, **extra},
                              capture_output=True, timeout=30, check=False).returncode

    assert probe(STRAUM_HTTP_PORT=str(health_server)) == 0
    assert probe(HEALTHCHECK_URL=f"http://127.0.0.1:{health_server}/metrics") != 0  # 503
    assert probe(STRAUM_HTTP_PORT=str(free_port())) != 0  # nothing listens


# -- the entrypoint's commands, outside a container ---------------------------------------


def straum_command() -> list[str]:
    script = Path(sys.executable).parent / "straum"
    return [str(script)] if script.exists() else [sys.executable, "-m", "straum"]


@pytest.mark.parametrize(("args", "mentions"), [
    ((), ["worker", "api", "monitor"]),
    (("api",), ["--host", "--port"]),
    (("worker",), ["--metrics-port"]),
    (("monitor",), ["--metrics-port", "--webhook"]),
    (("lag",), ["--watch"]),
])
def test_entrypoint_commands_run(tmp_path: Path, args: tuple[str, ...], mentions: list[str]
                                 ) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAUM_")}
    env.update(STRAUM_DATA_DIR=str(tmp_path), COLUMNS="200", NO_COLOR="1")
    result = subprocess.run([*straum_command(), *args, "--help"], env=env, text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    for word in mentions:
        assert word in result.stdout


def test_the_commands_compose_and_the_image_run_are_valid(compose: dict[str, Any],
                                                          tmp_path: Path) -> None:
    final = dict((k, rest) for k, rest in final_stage())
    commands = [json.loads(final["CMD"])] + [compose["services"][name]["command"]
                                             for name in STRAUM_SERVICES]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAUM_")}
    env.update(STRAUM_DATA_DIR=str(tmp_path), NO_COLOR="1")
    for command in commands:
        result = subprocess.run([*straum_command(), *command, "--help"], env=env, text=True,
                                capture_output=True, timeout=60, check=False)
        assert result.returncode == 0, f"straum {' '.join(command)}: {result.stderr}"


# -- Prometheus --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(yaml: ModuleType) -> dict[str, Any]:
    return load_yaml(yaml, PROMETHEUS)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def rules(yaml: ModuleType) -> dict[str, Any]:
    return load_yaml(yaml, ALERTS)  # type: ignore[no-any-return]


def jobs(prometheus: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in prometheus["scrape_configs"]}


def seconds(duration: str | None) -> float:
    if not duration:
        return 0.0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_prometheus_scrapes_every_straum_process(prometheus: dict[str, Any],
                                                 compose: dict[str, Any]) -> None:
    ports = {"straum-api": ("api", default("http_port")),
             "straum-worker": ("worker", default("worker_metrics_port")),
             "straum-monitor": ("monitor", default("monitor_metrics_port"))}
    found = jobs(prometheus)
    for job, (service, port) in ports.items():
        sd = found[job]["dns_sd_configs"]
        assert len(sd) == 1 and sd[0]["names"] == [service] and sd[0]["type"] == "A"
        assert sd[0]["port"] == port
        assert service in compose["services"]
    for rule_file in prometheus["rule_files"]:
        assert (PROMETHEUS.parent / rule_file).exists()


def all_rules(rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in rules["groups"] for rule in group["rules"]]


def test_alert_rules_cover_the_monitors_signals(rules: dict[str, Any]) -> None:
    names = {rule["alert"] for rule in all_rules(rules)}
    assert names >= {"ForwardingStopped", "StraumAlertFiring", "MonitorDown", "MonitorSilent",
                     "BrokerUnreadable", "ConsumerLagHigh", "DeadLetters", "QueueNearExpiry",
                     "WorkerDown"}
    for rule in all_rules(rules):
        assert rule["labels"]["severity"] in ("critical", "warning", "{{ $labels.severity }}")
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook_url"]
        assert not unknown_metrics(rule["expr"]), (rule["alert"], unknown_metrics(rule["expr"]))


def test_alert_thresholds_match_the_settings(rules: dict[str, Any]) -> None:
    by_name = {rule["alert"]: rule for rule in all_rules(rules)}
    stale = default("heartbeat_stale_seconds")
    assert f"max(straum_heartbeat_age_seconds) > {stale:g}" in by_name["ForwardingStopped"]["expr"]
    grace = default("monitor_startup_grace_seconds")
    assert f"> {grace:g}" in by_name["ForwardingStopped"]["expr"]
    expiry = f"> {Thresholds().queue_expiry_warning:g} * {default('queue_retention_days')} * 86400"
    assert expiry in by_name["QueueNearExpiry"]["expr"]
    absent = {"MonitorDown": "straum-monitor", "WorkerDown": "straum-worker"}
    for alert, job in absent.items():
        assert by_name[alert]["expr"] == f'absent(up{{job="{job}"}} == 1)'


def test_forwarding_stopped_is_alerted_within_60_seconds(rules: dict[str, Any],
                                                         prometheus: dict[str, Any]) -> None:
    """Worst case: the heartbeat threshold, one monitor round, one scrape, one evaluation and
    the rule's "for"."""
    group = next(g for g in rules["groups"]
                 if any(r["alert"] == "ForwardingStopped" for r in g["rules"]))
    rule = next(r for r in group["rules"] if r["alert"] == "ForwardingStopped")
    evaluation = seconds(group.get("interval") or prometheus["global"]["evaluation_interval"])
    monitor_job = jobs(prometheus)["straum-monitor"]
    scrape = seconds(monitor_job.get("scrape_interval")
                     or prometheus["global"]["scrape_interval"])
    worst = (default("heartbeat_stale_seconds") + default("monitor_interval_seconds") + scrape
             + evaluation + seconds(rule.get("for")))
    assert worst <= 60, f"ForwardingStopped could take {worst:.0f} s"
    for rule in group["rules"]:
        assert seconds(rule.get("for")) <= 30, rule["alert"]


def operations_anchors() -> set[str]:
    """GitHub-style anchors of the headings in docs/OPERATIONS.md."""
    anchors = set()
    for line in OPERATIONS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text)))
    return anchors


RUNBOOK_LABEL = "{{ $externalLabels.runbook_url }}#"


def test_every_runbook_link_has_its_section(rules: dict[str, Any],
                                            prometheus: dict[str, Any],
                                            compose: dict[str, Any]) -> None:
    """Links are absolute: the runbook's URL (an external label from STRAUM_RUNBOOK_URL, the
    monitor's setting) and a section that exists."""
    anchors = operations_anchors()
    for rule in all_rules(rules):
        url = rule["annotations"]["runbook_url"].strip()
        assert url.startswith(RUNBOOK_LABEL), url
        if "{{" not in url.removeprefix(RUNBOOK_LABEL):
            assert url.split("#", 1)[1] in anchors, url
    assert prometheus["global"]["external_labels"]["runbook_url"] == "${STRAUM_RUNBOOK_URL}"
    runbook = env_of(compose["services"]["prometheus"])["STRAUM_RUNBOOK_URL"]
    assert runbook == env_of(compose["services"]["monitor"])["STRAUM_RUNBOOK_URL"]
    assert runbook.startswith("${STRAUM_RUNBOOK_URL:-http") and runbook.endswith("/runbook}")
    source = (ROOT / "domain" / "alerts.py").read_text(encoding="utf-8")
    monitor_runbooks = re.findall(r'link\("([\w-]+)"\)', source)
    assert len(monitor_runbooks) >= 6
    assert set(monitor_runbooks) <= anchors
    # StraumAlertFiring's link: the monitor's alert name in kebab case, QueueNearExpiry apart
    # (promtool test rules checks the template itself).
    names = set(re.findall(r'"([A-Z]\w+)", "(?:critical|warning)"', source))
    assert names >= {"ForwardingStopped", "ConsumerLag", "DeadLetters", "ForwardingFailing",
                     "QueueNearExpiry", "BrokerUnreachable"}
    for name in names:
        kebab = ("queue-expiry" if name == "QueueNearExpiry"
                 else re.sub(r"([a-z])([A-Z])", r"\1-\2", name).lower())
        assert kebab in anchors, name


ALERTMANAGER = DOCKER / "alertmanager" / "alertmanager.yml"


def test_alertmanager_receives_prometheus_alerts_and_inhibits_the_duplicates(
        yaml: ModuleType, prometheus: dict[str, Any], compose: dict[str, Any],
        rules: dict[str, Any]) -> None:
    """The inhibit rules docs/OPERATIONS.md describes are in the configuration compose mounts,
    and name alerts that exist."""
    targets = [t for a in prometheus["alerting"]["alertmanagers"]
               for c in a["static_configs"] for t in c["targets"]]
    assert targets == ["alertmanager:9093"]
    service = compose["services"]["alertmanager"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
    assert (COMPOSE.parent / mounts["/etc/alertmanager"]).resolve() == ALERTMANAGER.parent
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in service["command"]
    config = load_yaml(yaml, ALERTMANAGER)
    receivers = {r["name"] for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    assert all(r["receiver"] in receivers for r in config["route"].get("routes", []))
    inhibit = [(r["source_matchers"], r["target_matchers"]) for r in config["inhibit_rules"]]
    assert (['alertname="ForwardingStopped"'],
            ['alertname="StraumAlertFiring"', 'straum_alert="ForwardingStopped"']) in inhibit
    assert (['alertname="BrokerUnreadable"'],
            ['alertname="StraumAlertFiring"', 'straum_alert="BrokerUnreachable"']) in inhibit
    alerts = {rule["alert"] for rule in all_rules(rules)}
    for matchers in [m for pair in inhibit for m in pair]:
        for matcher in matchers:
            name, op, value = re.fullmatch(r'(\w+)(=~|=)"(.*)"', matcher).groups()  # type: ignore[union-attr]
            if name == "alertname":
                names = value.split("|") if op == "=~" else [value]
                assert set(names) <= alerts, names
    operations = OPERATIONS.read_text(encoding="utf-8")
    assert "docker/alertmanager/alertmanager.yml" in operations


def test_amtool_checks_the_alertmanager_config() -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (Debian: the prometheus-alertmanager package)")
    result = subprocess.run([amtool, "check-config", str(ALERTMANAGER)], text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian: the prometheus package)")
    return found


def run_promtool(*args: str) -> None:
    result = subprocess.run([promtool(), *args], text=True, capture_output=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_checks_the_config_and_rules() -> None:
    run_promtool("check", "config", str(PROMETHEUS))
    run_promtool("check", "rules", str(ALERTS))


def test_promtool_unit_tests_of_the_alerts() -> None:
    run_promtool("test", "rules", str(ALERT_TESTS))


def as_prometheus_sees_it(expr: str) -> str:
    """A dashboard query with Grafana's variables filled in as Grafana does."""
    return expr.replace("$__rate_interval", "1m").replace("$instance", ".*")


def test_promtool_parses_every_dashboard_query(tmp_path: Path, yaml: ModuleType) -> None:
    exprs = [as_prometheus_sees_it(t["expr"]) for panel in dashboard_panels()
             for t in panel["targets"]]
    records = [{"record": f"straum:dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    run_promtool("check", "rules", str(path))


# -- Grafana ------------------------------------------------------------------------------------


def dashboard_panels() -> list[dict[str, Any]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [p for p in dashboard["panels"] if p.get("type") != "row"]


def test_grafana_dashboard_is_valid(yaml: ModuleType, compose: dict[str, Any]) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"]
    assert 36 <= dashboard["schemaVersion"] <= 41
    datasource = load_yaml(yaml, GRAFANA_DATASOURCES)["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in compose["services"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["datasource"]["current"]["value"] == datasource["uid"]
    instance = variables["instance"]
    assert instance["type"] == "query" and instance["includeAll"] and instance["multi"]
    assert "label_values(up{" in instance["query"]["query"]
    panels = dashboard_panels()
    assert len({p["id"] for p in panels}) == len(panels)
    used: set[str] = set()
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert "[1m]" not in target["expr"], (panel["title"], target["expr"])
            for window in re.findall(r"\b(?:rate|irate)\([^\[]*\[([^\]]+)\]", target["expr"]):
                assert window == "$__rate_interval", (panel["title"], target["expr"])
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert not unknown_metrics(target["expr"]), (panel["title"], target["expr"])
            used |= metric_names(target["expr"])
    assert used >= {"straum_consumergroup_lag", "straum_consumergroup_lag_seconds",
                    "straum_heartbeat_age_seconds", "straum_forwarding_up",
                    "straum_forwarder_series_total", "straum_intake_series_total",
                    "straum_dead_letter_topic_records", "straum_queue_depth",
                    "straum_queue_oldest_unacknowledged_age_seconds",
                    "straum_http_request_duration_seconds_bucket", "straum_alert_firing",
                    "kafka_server_brokertopicmetrics_messagesin_total",
                    "kafka_server_replicamanager_underreplicatedpartitions",
                    "kafka_controller_kafkacontroller_activecontrollercount",
                    "kafka_network_requestmetrics_totaltimems"}
    broker_row = next(p for p in dashboard["panels"] if p.get("type") == "row"
                      and "Kafka brokers" in p["title"])
    assert broker_row["gridPos"]["w"] == 24


def test_grafana_provisioning_finds_the_dashboard(yaml: ModuleType,
                                                  compose: dict[str, Any]) -> None:
    provider = load_yaml(yaml, GRAFANA_DASHBOARDS)["providers"][0]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in compose["services"]["grafana"]["volumes"]}
    source = mounts[provider["options"]["path"]]
    assert (COMPOSE.parent / source).resolve() == DASHBOARD.parent
    provisioning = (COMPOSE.parent / mounts["/etc/grafana/provisioning"]).resolve()
    assert provisioning == GRAFANA_DATASOURCES.parent.parent


# -- nginx ----------------------------------------------------------------------------------------


def test_nginx_config_structure() -> None:
    text = NGINX.read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert code.count("{") == code.count("}")
    limit = re.search(r"client_max_body_size\s+(\d+)m;", code)
    assert limit and int(limit.group(1)) * 1024 * 1024 == default("max_body_bytes")
    assert "proxy_set_header Authorization $http_authorization;" in code
    assert re.search(rf"server\s+api:{default('http_port')}\b", code)
    assert re.search(r"listen\s+8080;", code)
    assert re.search(r"location = /metrics\s*\{\s*return 404;", code)
    assert "proxy_pass http://straum_api;" in code


def nginx_version(nginx: str) -> tuple[int, ...]:
    result = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", result.stderr + result.stdout)
    assert match, result.stderr
    return tuple(int(n) for n in match.groups())


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    """``nginx -t`` on a copy: ``api`` is the compose service, unknown here, so it becomes
    127.0.0.1; an nginx older than 1.27.3 does not know ``resolve`` in an upstream, so that one
    parameter is dropped; temporary paths go to tmp_path."""
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    if nginx is None:
        pytest.skip("nginx is not installed: structural checks only")
    text = NGINX.read_text(encoding="utf-8").replace("server api:", "server 127.0.0.1:")
    if nginx_version(nginx) < (1, 27, 3):
        text = re.sub(r"(server 127\.0\.0\.1:\d+) resolve\b", r"\1", text)
    temp = "".join(f"    {kind}_temp_path {tmp_path / kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    text = text.replace("http {\n", "http {\n" + temp, 1)
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / kind).mkdir()
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", "stderr", "-c", str(config)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
