"""Reads the JSON that `gcloud ... --format=json` prints, for deploy.sh and teardown.sh.

    resource.py get PATH...              one line per PATH: its value ("" when absent)
    resource.py pem PATH                 every string PATH matches, one after the other (certificates)
    resource.py service NAME...          facts about a Cloud Run service (see service_facts)
    resource.py policy NETWORK CLASS     the first service connection policy of NETWORK for CLASS
    resource.py dashboard FILE PROJECT ID KEY VALUE
                                         the dashboard of FILE named projects/PROJECT/dashboards/ID,
                                         labelled KEY=VALUE; stdin: the existing one, or nothing.
                                         Prints the config to write, or nothing when the existing
                                         one already shows what FILE does.

A PATH is dotted keys, with ["key.with.dots"] for keys holding dots, [N] for a list index and []
for every item of a list: pushConfig.oidcToken.audience, redisConfigs["maxmemory-policy"],
serverCaCerts[].cert. Scalars print as JSON would, without quotes (true, 60, text); lists and
objects as compact JSON. Nothing read here is a secret: secrets never go through this script.
"""
from __future__ import annotations

import json
import re
import sys

TOKEN = re.compile(r'\.?([^.\[\]]+)|\["([^"]*)"\]|\[(\d*)\]')


def parse(path: str) -> list[object]:
    steps: list[object] = []
    position = 0
    while position < len(path):
        match = TOKEN.match(path, position)
        if not match or match.end() == position:
            raise SystemExit(f"resource.py: bad path {path!r}")
        name, quoted, index = match.groups()
        if name is not None:
            steps.append(name)
        elif quoted is not None:
            steps.append(quoted)
        else:
            steps.append(int(index) if index else None)  # None: every item
        position = match.end()
    return steps


def select(value: object, steps: list[object]) -> list[object]:
    """Every value STEPS reach from VALUE (several where a [] step fans out)."""
    found = [value]
    for step in steps:
        following = []
        for item in found:
            if step is None:
                following.extend(item if isinstance(item, list) else [])
            elif isinstance(step, int):
                if isinstance(item, list) and -len(item) <= step < len(item):
                    following.append(item[step])
            elif isinstance(item, dict) and step in item:
                following.append(item[step])
        found = following
    return found


def text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return "" if value is None else str(value)


def get(document: object, path: str) -> str:
    found = select(document, parse(path))
    if not found:
        return ""
    return text(found[0]) if len(found) == 1 else text(found)


def service_facts(document: dict, names: list[str]) -> dict[str, str]:
    """What deploy.sh needs to know of an existing Cloud Run service (`run services describe`)."""
    template = document.get("spec", {}).get("template", {})
    annotations = template.get("metadata", {}).get("annotations", {})
    spec = template.get("spec", {})
    containers = spec.get("containers", [])
    ingress = next((c for c in containers if c.get("ports")), containers[0] if containers else {})
    volumes = {v.get("name"): v for v in spec.get("volumes", [])}
    secret_keys = []
    for container in containers:
        for variable in container.get("env", []):
            if "secretKeyRef" in variable.get("valueFrom", {}):
                secret_keys.append(variable["name"])
        for mount in container.get("volumeMounts", []):
            secret = volumes.get(mount.get("name"), {}).get("secret")
            if secret is not None:
                for item in secret.get("items", []) or [{"path": ""}]:
                    secret_keys.append(f"{mount['mountPath'].rstrip('/')}/{item.get('path', '')}".rstrip("/"))
    facts = {
        "ingress_container": ingress.get("name", ""),
        "containers": ",".join(c.get("name", "") for c in containers),
        "vpc_connector": annotations.get("run.googleapis.com/vpc-access-connector", ""),
        "network_interfaces": annotations.get("run.googleapis.com/network-interfaces", ""),
        "secret_keys": ",".join(sorted(set(secret_keys))),
    }
    return {name: facts[name] for name in names}


def first_policy(policies: list[dict], network: str, service_class: str) -> str:
    for policy in policies:
        if policy.get("serviceClass") == service_class and policy.get("network", "").endswith(network):
            return policy.get("name", "").rsplit("/", 1)[-1]
    return ""


def contains(have: object, want: object) -> bool:
    """Whether HAVE shows everything WANT says (the API adds defaults and ids of its own)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(key in have and contains(have[key], value) for key, value in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(map(contains, have, want))
    return have == want


def dashboard(path: str, project: str, dashboard_id: str, key: str, value: str, existing_text: str) -> str:
    with open(path) as source:
        wanted = json.load(source)
    wanted["name"] = f"projects/{project}/dashboards/{dashboard_id}"
    wanted.setdefault("labels", {})[key] = value
    existing = json.loads(existing_text) if existing_text.strip() else None
    if existing is not None:
        # The API names a dashboard by project number, not ID: the name is not compared.
        if contains(existing, {key: value for key, value in wanted.items() if key != "name"}):
            return ""
        if existing.get("etag"):
            wanted["etag"] = existing["etag"]  # update only the version that was read
    return json.dumps(wanted, indent=1)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, arguments = argv[0], argv[1:]
    if command == "dashboard":
        print(dashboard(*arguments, sys.stdin.read()), end="")
        return 0
    document = json.load(sys.stdin)
    if command == "get":
        for path in arguments:
            print(get(document, path).replace("\n", "\\n"))
    elif command == "pem":
        for item in select(document, parse(arguments[0])):
            if isinstance(item, str) and item.strip():
                print(item.strip())
    elif command == "service":
        for value in service_facts(document, arguments).values():
            print(value)
    elif command == "policy":
        print(first_policy(document if isinstance(document, list) else [], *arguments))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
