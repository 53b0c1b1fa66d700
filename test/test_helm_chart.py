"""The Helm chart (deploy/helm/grau), rendered offline as `helm template` would (no cluster):
what a deployment depends on is asserted here; scripts/k8s_check.py (`make k8s-check`)
lints it and validates every manifest against the Kubernetes schemas."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from k8s_check import CHART, TEST_SECRETS, VALUE_SETS, manifests, render

HOOK = "helm.sh/hook"


def by_kind(values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for document in manifests(values):
        found.setdefault(document["kind"], []).append(document)
    return found


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["spec"]["template"]["spec"]["containers"])


@pytest.fixture(scope="module", params=list(VALUE_SETS))
def rendered(request: pytest.FixtureRequest) -> dict[str, list[dict[str, Any]]]:
    return by_kind(VALUE_SETS[request.param])


def test_the_api_is_probed_on_health_and_ready(rendered):
    (api,) = containers(rendered["Deployment"][0])

    assert api["startupProbe"]["httpGet"]["path"] == "/health"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert api["resources"]["requests"] and api["resources"]["limits"]


def test_every_container_runs_unprivileged_on_a_read_only_file_system(rendered):
    workloads = rendered["Deployment"] + rendered["Job"]
    for workload in workloads:
        assert workload["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        for container in containers(workload):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]


def test_migrations_run_once_as_a_hook_before_pods_and_pods_only_serve(rendered):
    (job,) = rendered["Job"]
    (migrate,) = containers(job)
    (api,) = containers(rendered["Deployment"][0])
    job_weight = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])

    assert job["metadata"]["annotations"][HOOK] == "pre-install,pre-upgrade"
    assert migrate["command"][-1] == "--no-exec"  # scripts/entrypoint.py: migrate, seed, exit
    assert api["command"] == ["python", "-m", "grau.server"]
    # The Job reads hook copies made before it (a lower weight) and deleted after it; the
    # pods read release resources, which a rollback restores and an uninstall removes.
    for source in migrate["envFrom"]:
        name = (source.get("configMapRef") or source.get("secretRef"))["name"]
        kind = "ConfigMap" if "configMapRef" in source else "Secret"
        if kind not in rendered:  # an existing Secret: not the chart's
            continue
        (copy,) = [d for d in rendered[kind] if d["metadata"]["name"] == name]
        annotations = copy["metadata"]["annotations"]
        assert annotations[HOOK] == "pre-install,pre-upgrade"
        assert int(annotations["helm.sh/hook-weight"]) < job_weight
        assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"]
    for source in api["envFrom"]:
        name = (source.get("configMapRef") or source.get("secretRef"))["name"]
        for documents in rendered.values():
            for document in documents:
                if document["metadata"]["name"] == name:
                    assert HOOK not in document["metadata"].get("annotations", {})


def test_the_service_and_its_budget_select_the_api_pods_not_the_job(rendered):
    pod_labels = rendered["Deployment"][0]["spec"]["template"]["metadata"]["labels"]
    job_labels = rendered["Job"][0]["spec"]["template"]["metadata"]["labels"]
    selectors = [
        rendered["Service"][0]["spec"]["selector"],
        rendered["PodDisruptionBudget"][0]["spec"]["selector"]["matchLabels"],
    ]

    for selector in selectors:
        assert selector.items() <= pod_labels.items()
        assert not selector.items() <= job_labels.items()


def test_the_autoscaler_scales_the_deployment(rendered):
    (hpa,) = rendered["HorizontalPodAutoscaler"]

    assert hpa["spec"]["scaleTargetRef"]["name"] == rendered["Deployment"][0]["metadata"]["name"]
    assert "replicas" not in rendered["Deployment"][0]["spec"]  # the autoscaler owns it


def test_no_secret_has_a_default_value():
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    assert {k: v for k, v in values["secret"].items() if v} == {}
    with pytest.raises(Exception, match=r"set secret\.secretKey"):
        render({})


def test_an_existing_secret_is_used_instead_of_one_made_by_the_chart():
    found = by_kind({"secret": {"existingSecret": "grau-secrets"}})
    (api,) = containers(found["Deployment"][0])
    (migrate,) = containers(found["Job"][0])

    assert "Secret" not in found
    assert {"secretRef": {"name": "grau-secrets"}} in api["envFrom"]
    assert {"secretRef": {"name": "grau-secrets"}} in migrate["envFrom"]


def test_the_chart_made_secret_holds_what_was_given():
    found = by_kind(TEST_SECRETS)

    assert len(found["Secret"]) == 2  # the pods' and the migration Job's hook copy
    for secret in found["Secret"]:
        assert secret["stringData"]["SECRET_KEY"] == TEST_SECRETS["secret"]["secretKey"]
        assert secret["stringData"]["DATABASE_URL"] == TEST_SECRETS["secret"]["databaseUrl"]


def test_replica_urls_reach_the_pods_through_the_secret_and_not_the_migrations():
    replicas = "postgresql://grau:pw@grau-db-ro:5432/grau"
    values = {"secret": {**TEST_SECRETS["secret"], "databaseReplicaUrls": replicas}}
    found = by_kind(values)

    pods, job = found["Secret"]  # the pods' and the migration Job's hook copy
    assert HOOK not in pods["metadata"].get("annotations", {})
    assert pods["stringData"]["DATABASE_REPLICA_URLS"] == replicas
    assert "DATABASE_REPLICA_URLS" not in job["stringData"]  # migrations use the primary
    assert "DATABASE_REPLICA_URLS" not in by_kind(TEST_SECRETS)["Secret"][0]["stringData"]
    (api,) = containers(found["Deployment"][0])
    assert {"secretRef": {"name": pods["metadata"]["name"]}} in api["envFrom"]


def test_the_ingress_does_not_route_metrics(rendered):
    paths = [
        path["path"]
        for ingress in rendered.get("Ingress", [])
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]

    assert "Ingress" not in rendered or "/v1" in paths
    assert not any("/metrics".startswith(p) and p != "/" for p in paths) and "/metrics" not in paths
