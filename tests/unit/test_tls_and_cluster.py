"""The Neo4j driver's TLS options from NEO4J_URI and CASEWISE_NEO4J_CA_FILE, and how
``casewise cluster status`` compares what nodes serve (no server needed)."""

from __future__ import annotations

from pathlib import Path

import neo4j
import pytest
from pydantic import ValidationError

from service.api.cluster_command import Node, differences
from service.graph.db import GraphUnavailable, driver_options
from service.settings import Settings


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


def test_without_a_ca_file_the_uri_decides() -> None:
    assert driver_options("neo4j+s://graph:7687", None) == ("neo4j+s://graph:7687", {})


@pytest.mark.parametrize(
    ("uri", "sent"),
    [
        ("bolt+s://graph:7687", "bolt://graph:7687"),
        ("neo4j+s://graph:7687", "neo4j://graph:7687"),
        ("bolt://graph:7687", "bolt://graph:7687"),
    ],
)
def test_a_ca_file_means_tls_trusting_only_it(ca_file: Path, uri: str, sent: str) -> None:
    target, options = driver_options(uri, ca_file)
    assert target == sent
    assert options["encrypted"] is True
    assert isinstance(options["trusted_certificates"], neo4j.TrustCustomCAs)
    neo4j.GraphDatabase.driver(target, auth=("u", "p"), **options).close()  # accepted


def test_a_ca_file_with_ssc_is_refused_naming_the_fix(ca_file: Path) -> None:
    with pytest.raises(GraphUnavailable, match=r"use bolt\+s://graph:7687"):
        driver_options("bolt+ssc://graph:7687", ca_file)


def test_a_missing_ca_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GraphUnavailable, match="is not a file"):
        driver_options("bolt+s://graph:7687", tmp_path / "nope.pem")


def test_the_setting_must_name_a_file(tmp_path: Path, ca_file: Path) -> None:
    assert Settings(neo4j_ca_file=str(ca_file)).neo4j_ca_file == ca_file
    assert Settings(neo4j_ca_file="").neo4j_ca_file is None
    with pytest.raises(ValidationError, match="neo4j_ca_file"):
        Settings(neo4j_ca_file=str(tmp_path / "nope.pem"))


def test_cluster_differences_name_each_node_version() -> None:
    a = Node("http://a", True, versions={"ruleset r": "v1", "playbook p": "p1"})
    b = Node("http://b", True, versions={"ruleset r": "v2", "playbook p": "p1"})
    c = Node("http://c", True, versions={"ruleset r": "v1"})
    assert differences([a, a]) == {}
    assert differences([a, b]) == {"ruleset r": {"http://a": "v1", "http://b": "v2"}}
    assert differences([a, c]) == {"playbook p": {"http://a": "p1", "http://c": "-"}}
