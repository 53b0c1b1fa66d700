"""Render, lint and validate the Helm chart offline (`make k8s-check`).

For the default values (with stand-in secrets) and for values-production.yaml:
`helm lint --strict` and `helm template` through helm-python-sdk (Helm's Go SDK,
bundled: no binary, no cluster), then every rendered manifest through
kubernetes-validate against the Kubernetes API schemas, strictly (an unknown field is
an error). Custom resources (the ServiceMonitor) have no schema there and are only
parsed. The rendered manifests are written to build/k8s/<values>/ to read.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from helm_python.chart import Chart, lint

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "grau"
OUT = ROOT / "build" / "k8s"
KUBERNETES = "1.33.0"  # the API version the manifests are validated against
# Stand-ins for the values a real install must set (the chart has no default for them).
TEST_SECRETS = {
    "secret": {
        "secretKey": "k8s-check-placeholder",
        "databaseUrl": "postgresql://grau@grau-db-rw:5432/grau",
    }
}
VALUE_SETS = {
    "default": TEST_SECRETS,
    "production": yaml.safe_load((CHART / "values-production.yaml").read_text()),
}
CUSTOM_RESOURCES = {"monitoring.coreos.com/v1"}


def render(values: dict[str, Any]) -> dict[str, str]:
    """Template path -> rendered text, as `helm template grau` (an install) gives it."""
    rendered: dict[str, str] = Chart.load(str(CHART)).render(
        values, name="grau", namespace="grau", is_install=True
    )
    return rendered


def manifests(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        document
        for text in render(values).values()
        for document in yaml.safe_load_all(text)
        if document
    ]


def check(name: str, values: dict[str, Any]) -> list[str]:
    problems = []
    linted = lint(str(CHART), values, strict=True)
    for message in linted.get("messages", []):
        if message["severity"] >= 2:  # 1 is information ("icon is recommended")
            problems.append(f"lint {message['path']}: {message['error']}")
    problems += [f"lint: {error}" for error in linted.get("errors", [])]
    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for document in manifests(values):
        kind, meta = document["kind"], document["metadata"]["name"]
        (folder / f"{kind}-{meta}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        if document["apiVersion"] in CUSTOM_RESOURCES:
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{kind} {meta}: {exc.message} at {list(exc.path)}")
    print(f"{name}: {len(list(folder.iterdir()))} manifests in {folder.relative_to(ROOT)}")
    return problems


def main() -> int:
    problems = [f"{name}: {p}" for name, values in VALUE_SETS.items() for p in check(name, values)]
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print("k8s-check: ok" if not problems else f"k8s-check: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
