"""Bad environments get one clear line and a non-zero exit, and leave nothing running."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from schemas.settings import Settings


def straum(*args: str, env: dict[str, str],
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "straum", *args], env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAUM_")}
    env["STRAUM_DATA_DIR"] = str(tmp_path / "var")
    env.update(extra)
    return env


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("straum: error: ")
    return lines[0]


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = straum("broker", "start", env=base_env(
            tmp_path, STRAUM_KAFKA_PORT=str(port), STRAUM_KAFKA_CONTROLLER_PORT="0"))
    assert result.returncode == 1
    line = error_line(result)
    assert f"port {port} is already in use" in line
    assert not (tmp_path / "var" / "broker" / "broker.json").exists()


def test_missing_java(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = straum("broker", "start", env=base_env(tmp_path, PATH=str(empty)))
    assert result.returncode == 1
    assert "'java' was not found" in error_line(result)


def test_missing_maven_when_jars_are_not_cached(tmp_path: Path) -> None:
    only_java = tmp_path / "bin"
    only_java.mkdir()
    java = shutil.which("java")
    assert java
    (only_java / "java").symlink_to(java)
    result = straum("broker", "fetch", env=base_env(
        tmp_path, PATH=str(only_java), STRAUM_KAFKA_CACHE_DIR=str(tmp_path / "cache")))
    assert result.returncode == 1
    assert "'mvn' was not found" in error_line(result)


def test_data_dir_formatted_for_another_cluster(tmp_path: Path) -> None:
    home = tmp_path / "var" / "broker"
    (home / "kraft-data").mkdir(parents=True)
    (home / "cluster.id").write_text("AAAAAAAAAAAAAAAAAAAAAA")
    (home / "kraft-data" / "meta.properties").write_text(
        "version=1\ncluster.id=BBBBBBBBBBBBBBBBBBBBBB\nnode.id=1\n")
    result = straum("broker", "start", env=base_env(
        tmp_path, STRAUM_KAFKA_PORT="0", STRAUM_KAFKA_CONTROLLER_PORT="0"))
    assert result.returncode == 1
    assert "formatted for another Kafka cluster" in error_line(result)


def test_broker_status_when_none_runs(tmp_path: Path) -> None:
    result = straum("broker", "status", env=base_env(tmp_path))
    assert result.returncode == 1
    assert "no broker is running" in result.stdout


def test_broker_commands_refuse_when_a_cluster_is_configured(tmp_path: Path) -> None:
    result = straum("broker", "start", env=base_env(
        tmp_path, STRAUM_KAFKA_BOOTSTRAP="127.0.0.1:1"))
    assert result.returncode == 1
    assert "STRAUM_KAFKA_BOOTSTRAP is set" in error_line(result)


def test_token_for_a_bad_party(tmp_path: Path) -> None:
    result = straum("token", "--party", "7080005051280", "--role", "supplier",
                    env=base_env(tmp_path))
    assert result.returncode == 1
    assert "--party" in error_line(result)


def test_token_is_printed_for_a_good_party(tmp_path: Path) -> None:
    result = straum("token", "--party", "7080005051286", "--role", "supplier",
                    env=base_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2
    assert Settings(data_dir=tmp_path / "var").dev_key_path.exists()


def test_broker_that_does_not_come_up(tmp_path: Path) -> None:
    result = straum("broker", "start", env=base_env(
        tmp_path, STRAUM_KAFKA_PORT="0", STRAUM_KAFKA_CONTROLLER_PORT="0",
        STRAUM_KAFKA_HEAP="1k"))
    assert result.returncode == 1
    line = error_line(result)
    assert "the broker exited with code" in line
    assert "heap" in line.lower()
    assert not (tmp_path / "var" / "broker" / "broker.json").exists()
