"""Settings a newcomer relies on without knowing it: the data directory is the same from any
folder, the runbook link is absolute, and the first fetch of the broker's jars says what it
does."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from connectors.broker.embedded import ensure_jars, fetch_progress
from schemas.settings import Settings, straum_home
from straum.supervisor import JarProgress

ROOT = Path(__file__).resolve().parents[2]


def test_a_relative_data_dir_is_the_checkouts_whatever_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRAUM_DATA_DIR", "var")
    monkeypatch.chdir(tmp_path)
    from_elsewhere = Settings().data_dir
    monkeypatch.chdir(ROOT / "docs")
    from_docs = Settings().data_dir
    assert from_elsewhere == from_docs == ROOT / "var"
    assert straum_home() == ROOT
    assert Settings().dev_key_path == ROOT / "var" / "keys" / "dev-signing-key.pem"


def test_an_absolute_data_dir_is_kept_and_the_default_is_absolute(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRAUM_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == ROOT / "var"
    assert Settings(data_dir=tmp_path / "d").data_dir == tmp_path / "d"
    assert Settings(data_dir=Path("~/x")).data_dir == Path.home() / "x"


def test_the_runbook_link_is_absolute() -> None:
    assert Settings(http_host="0.0.0.0", http_port=8081).runbook == \
        "http://127.0.0.1:8081/runbook"
    assert Settings(runbook_url="https://wiki.example/straum").runbook == \
        "https://wiki.example/straum"


def test_mavens_download_lines_become_progress() -> None:
    assert fetch_progress(
        "Downloaded from central: https://repo.maven.apache.org/maven2/org/apache/kafka/"
        "kafka-clients/4.1.1/kafka-clients-4.1.1.jar (5.6 MB at 2.1 MB/s)"
    ) == "kafka-clients-4.1.1.jar (5.6 MB)"
    assert fetch_progress("Downloading from central: https://x/y.jar") is None
    assert fetch_progress("[INFO] BUILD SUCCESS") is None


FAKE_MVN = """#!/bin/sh
# Maven as the first run sees it: downloads, then the copied jars.
for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}";; esac; done
k=https://repo/org/apache/kafka
echo "Downloading from central: $k/kafka_2.13/4.1.1/kafka_2.13-4.1.1.pom"
echo "Downloaded from central: $k/kafka_2.13/4.1.1/kafka_2.13-4.1.1.pom (4 kB at 20 kB/s)"
echo "Downloaded from central: $k/kafka_2.13/4.1.1/kafka_2.13-4.1.1.jar (6.2 MB at 3 MB/s)"
echo "Downloaded from central: $k/kafka-clients/4.1.1/kafka-clients-4.1.1.jar (5.6 MB at 3 MB/s)"
touch "$out/kafka_2.13-4.1.1.jar" "$out/kafka-clients-4.1.1.jar"
"""


def test_the_first_fetch_shows_each_jar_as_it_arrives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A stand-in ``mvn`` on PATH (no network): what Maven reports is shown as it comes."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN)
    mvn.chmod(mvn.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    progress = JarProgress("4.1.1", tmp_path / "cache")
    libs = ensure_jars(tmp_path / "cache", "4.1.1", progress=progress)
    assert (libs / "kafka_2.13-4.1.1.jar").exists()
    shown = capsys.readouterr().err.splitlines()
    assert shown[0].startswith("straum: fetching the broker (Apache Kafka 4.1.1")
    assert "first run only" in shown[0]
    assert shown[1:] == ["straum:   fetched   2 files: kafka_2.13-4.1.1.jar (6.2 MB)",
                         "straum:   fetched   3 files: kafka-clients-4.1.1.jar (5.6 MB)"]
    assert (progress.files, progress.jars) == (3, 2)
    # The second time nothing is fetched and nothing is said.
    ensure_jars(tmp_path / "cache", "4.1.1", progress=JarProgress("4.1.1", tmp_path))
    assert capsys.readouterr().err == ""
