"""A stand-in for the Google Cloud CLI, which the deploy tests put first on PATH as `gcloud`.

It answers the commands deploy/ uses the way gcloud does, and keeps what they create in a
state file, shaped as the APIs describe it (`--format=json`), so a second run finds everything
the first one made, and a test can make a project that already holds resources with other
settings (by running the stand-in with the commands an operator, or the tutorial, once ran):

- every call's argv is appended to ``calls.jsonl`` in $FAKE_GCLOUD_DIR before it is handled;
  what arrives on stdin for ``--data-file=-`` goes, separately, to ``stdin.jsonl``;
- ``describe`` of an absent resource fails (exit 1, ``NOT_FOUND`` on stderr); ``create`` of a
  present one fails (``ALREADY_EXISTS``), as do commands whose prerequisites are missing
  (deploying an image that was never pushed, subscribing to a missing topic, binding a role
  to a service account that does not exist, a member holding an unexpanded ``$VARIABLE``, a
  Redis cluster without a service connection policy, a service with both a VPC connector and
  Direct VPC egress, a secret version no service may read...);
- ``--format=json`` prints the resource, ``--format=value(a.b,c)`` those fields, tab-separated,
  ``--format=none`` nothing;
- the project has the "default" VPC network, with a "default" /20 subnet in every region, unless
  the state lists them in ``absent``;
- $FAKE_GCLOUD_FAIL: calls whose joined argv contains this text fail with PERMISSION_DENIED.
"""
from __future__ import annotations

import json
import os
import sys

VERBS = {
    "describe", "create", "delete", "list", "enable", "deploy", "submit", "add", "update", "access",
    "get-iam-policy", "add-iam-policy-binding", "remove-iam-policy-binding", "get-auth-string",
    "get-cluster-certificate-authority", "upgrade",
}
PROJECT_NUMBER = "123456789012"
REDIS_HOST = "10.127.0.3"
REDIS_PORT = "6379"
REDIS_TLS_PORT = "6378"
CLUSTER_ADDRESS = "10.128.0.9"
FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIFakeServerCA{}\n-----END CERTIFICATE-----"
# Flags of `gcloud run deploy` that apply to one container (after a --container flag).
CONTAINER_FLAGS = {
    "--image", "--port", "--startup-probe", "--liveness-probe", "--set-env-vars", "--update-env-vars",
    "--update-secrets", "--remove-secrets", "--set-secrets", "--depends-on", "--cpu", "--memory", "--command", "--args",
}


class GcloudError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def split_call(argv: list[str]) -> tuple[tuple[str, ...], list[str], dict[str, str | bool]]:
    """``gcloud`` argv -> (command path ending in its verb, positional arguments, --flags)."""
    command: list[str] = []
    rest = list(argv)
    while rest and not rest[0].startswith("-"):
        command.append(rest.pop(0))
        if command[-1] in VERBS:
            break
    positionals, flags = [], {}
    for token in rest:
        if token.startswith("--"):
            name, has_value, value = token.partition("=")
            flags[name] = value if has_value else True
        else:
            positionals.append(token)
    return tuple(command), positionals, flags


def split_containers(argv: list[str]) -> tuple[dict[str, str | bool], dict[str, dict[str, str | bool]]]:
    """`gcloud run deploy` argv -> (service-level flags, {container name: its flags}).

    Container flags before any --container belong to the container named "" (the serving one)."""
    service: dict[str, str | bool] = {}
    containers: dict[str, dict[str, str | bool]] = {}
    current: str | None = None
    for token in argv:
        if not token.startswith("--"):
            continue
        name, has_value, value = token.partition("=")
        flag_value: str | bool = value if has_value else True
        if name == "--container":
            current = value
            containers.setdefault(current, {})
        elif name in CONTAINER_FLAGS:
            containers.setdefault(current if current is not None else "", {})[name] = flag_value
        else:
            service[name] = flag_value
    return service, containers


def split_env_vars(value: str) -> dict[str, str]:
    """The NAME=VALUE pairs of --set-env-vars or --substitutions, with gcloud's ^DELIM^ syntax."""
    delimiter = ","
    if value.startswith("^") and value.find("^", 1) > 1:
        end = value.find("^", 1)
        delimiter, value = value[1:end], value[end + 1:]
    return dict(item.split("=", 1) for item in value.split(delimiter) if item)


def labels_of(flags: dict) -> dict[str, str]:
    value = flags.get("--labels") or flags.get("--update-labels")
    return split_env_vars(value) if isinstance(value, str) else {}


def probe(value: str) -> dict:
    result: dict = {}
    for key, number in split_env_vars(value).items():
        target = result
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = number if leaf == "path" else int(number)
    return result


def project_value(resource: object, path: str) -> str:
    value: object = resource
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            value = None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return "" if value is None else str(value)


def formatted(flags: dict, resource: object, fallback: str) -> str:
    fmt = flags.get("--format", "")
    if fmt == "none":
        return ""
    if fmt == "json":
        return json.dumps(resource, indent=1)
    if isinstance(fmt, str) and fmt.startswith("value(") and fmt.endswith(")"):
        fields = [field.strip() for field in fmt[len("value("):-1].split(",")]
        rows = resource if isinstance(resource, list) else [resource]
        return "\n".join("\t".join(project_value(row, field) for field in fields) for row in rows)
    return fallback


def etag_of(text: str) -> str:
    import hashlib  # only dashboards need it
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def service_account_email(name: str, project: str) -> str:
    return name if "@" in name else f"{name}@{project}.iam.gserviceaccount.com"


def service_url(name: str) -> str:
    return f"https://{name}-x7f3kq2lma-uc.a.run.app"


def short(path: object) -> str:
    return str(path).rstrip("/").rsplit("/", 1)[-1]


class FakeCloud:
    def __init__(self, directory: str):
        self.directory = directory
        self.state_file = os.path.join(directory, "state.json")
        if os.path.exists(self.state_file):
            with open(self.state_file) as state:
                self.state = json.load(state)
        else:
            self.state = {}
        self.loaded = json.dumps(self.state, sort_keys=True)
        for key, empty in (("resources", {}), ("policies", {}), ("enabled", []), ("versions", {}),
                           ("packages", {}), ("auth_strings", {}), ("absent", []), ("run_models", {})):
            self.state.setdefault(key, empty)

    def save(self) -> None:
        # Two calls can run at once (one piped into the other): a read leaves the file alone, and
        # a write replaces it whole, so a reader never sees half of it.
        if json.dumps(self.state, sort_keys=True) == self.loaded:
            return
        partial = os.path.join(self.directory, f"state.{os.getpid()}.json")
        with open(partial, "w") as state:
            json.dump(self.state, state, indent=1, sort_keys=True)
        os.replace(partial, self.state_file)

    # --- resources ---

    def table(self, kind: str) -> dict:
        return self.state["resources"].setdefault(kind, {})

    def implicit(self, kind: str, name: str, project: str, region: str = "") -> dict | None:
        """The default network and its subnets, which a new project has."""
        if f"{kind}|{name}" in self.state["absent"]:
            return None
        if kind == "projects":
            return {"projectId": name, "projectNumber": PROJECT_NUMBER}
        if kind == "compute networks" and name == "default":
            return {"name": "default", "autoCreateSubnetworks": True,
                    "selfLink": f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/default"}
        if kind == "compute networks subnets" and name == "default" and "compute networks|default" not in self.state["absent"]:
            return {"name": "default", "ipCidrRange": "10.132.0.0/20",
                    "network": f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/default",
                    "region": f"https://www.googleapis.com/compute/v1/projects/{project}/regions/{region}"}
        return None

    def get(self, kind: str, name: str, project: str = "", region: str = "") -> dict | None:
        found = self.table(kind).get(name)
        return found if found is not None else self.implicit(kind, name, project, region)

    def has(self, kind: str, name: str, project: str = "", region: str = "") -> bool:
        return self.get(kind, name, project, region) is not None

    def require(self, kind: str, name: str, verb: str, project: str = "", region: str = "") -> dict:
        found = self.get(kind, name, project, region)
        if found is None:
            raise GcloudError(f"ERROR: (gcloud.{kind.replace(' ', '.')}.{verb}) NOT_FOUND: "
                              f"{kind} [{name}] not found")
        return found

    def policy(self, kind: str, name: str) -> list[list[str]]:
        return self.state["policies"].setdefault(f"{kind}|{name}", [])

    def forget(self, kind: str, name: str) -> None:
        self.table(kind).pop(name, None)
        self.state["policies"].pop(f"{kind}|{name}", None)


class Handler:
    def __init__(self, cloud: FakeCloud, argv: list[str]):
        self.cloud = cloud
        self.argv = argv
        self.command, self.args, self.flags = split_call(argv)
        self.project = self.flags.get("--project")
        if not isinstance(self.project, str) or not self.project:
            raise GcloudError("ERROR: (gcloud) The required property [project] is not currently set.", 2)
        self.region = str(self.flags.get("--region", self.flags.get("--location", "")))

    @property
    def name(self) -> str:
        if not self.args:
            raise GcloudError(f"ERROR: (gcloud.{'.'.join(self.command)}) a resource name is required", 2)
        return self.args[0]

    def flag(self, name: str) -> str:
        value = self.flags.get(name)
        return value if isinstance(value, str) else ""

    def run(self) -> str:
        verb, group = self.command[-1], " ".join(self.command[:-1])
        special = {
            ("run", "deploy"): self.run_deploy,
            ("builds", "submit"): self.builds_submit,
            ("services", "enable"): self.services_enable,
            ("services", "list"): self.services_list,
            ("secrets", "versions", "add"): self.secret_versions_add,
            ("secrets", "versions", "list"): self.secret_versions_list,
            ("secrets", "versions", "access"): self.secret_versions_access,
            ("artifacts", "packages", "list"): self.packages_list,
            ("artifacts", "packages", "describe"): self.package_describe,
            ("artifacts", "packages", "delete"): self.package_delete,
            ("redis", "instances", "get-auth-string"): self.redis_auth_string,
            ("redis", "clusters", "get-cluster-certificate-authority"): self.cluster_certificate_authority,
            ("pubsub", "subscriptions", "update"): self.subscription_update,
            ("monitoring", "dashboards", "update"): self.dashboard_update,
            ("network-connectivity", "service-connection-policies", "list"): self.policies_list,
        }
        if self.command in special:
            return special[self.command]()
        generic = {
            "describe": self.describe, "create": self.create, "delete": self.delete,
            "get-iam-policy": self.get_policy, "add-iam-policy-binding": self.add_binding,
            "remove-iam-policy-binding": self.remove_binding,
        }
        if verb not in generic or group not in KINDS:
            raise GcloudError(f"fake gcloud: unsupported command: {' '.join(self.command)}", 2)
        return generic[verb](group)

    def resource_name(self, kind: str) -> str:
        if kind == "iam service-accounts":
            return service_account_email(self.name, self.project)
        if kind == "monitoring dashboards" and self.command[-1] == "create":
            return short(self.config().get("name") or f"generated-{len(self.cloud.table(kind)) + 1}")
        return self.name

    # --- generic verbs ---

    def describe(self, kind: str) -> str:
        name = self.resource_name(kind)
        resource = self.cloud.require(kind, name, "describe", self.project, self.region)
        return formatted(self.flags, resource, name)

    def create(self, kind: str) -> str:
        name = self.resource_name(kind)
        if self.cloud.has(kind, name, self.project, self.region):
            raise GcloudError(f"ERROR: (gcloud.{kind.replace(' ', '.')}.create) ALREADY_EXISTS: {name}")
        resource = KINDS[kind](self, name)
        self.cloud.table(kind)[name] = resource
        return f"Created {kind} [{name}]."

    def delete(self, kind: str) -> str:
        name = self.resource_name(kind)
        self.cloud.require(kind, name, "delete", self.project, self.region)
        self.cloud.forget(kind, name)
        if kind == "artifacts repositories":
            self.cloud.state["packages"].pop(name, None)
        if kind == "secrets":
            self.cloud.state["versions"].pop(name, None)
        if kind == "run services":
            self.cloud.state["run_models"].pop(name, None)
        return f"Deleted {kind} [{name}]."

    def get_policy(self, kind: str) -> str:
        name = self.resource_name(kind)
        self.cloud.require(kind, name, "get-iam-policy", self.project, self.region)
        return "\n".join(f"{role}\t{member}" for role, member in self.cloud.policy(kind, name))

    def binding(self, kind: str) -> tuple[list[list[str]], list[str]]:
        name = self.resource_name(kind)
        self.cloud.require(kind, name, "add-iam-policy-binding", self.project, self.region)
        member, role = self.flags.get("--member"), self.flags.get("--role")
        if not isinstance(member, str) or not isinstance(role, str):
            raise GcloudError("ERROR: --member and --role are required", 2)
        self.check_member(member)
        return self.cloud.policy(kind, name), [role, member]

    def add_binding(self, kind: str) -> str:
        policy, pair = self.binding(kind)
        if pair not in policy:
            policy.append(pair)
        return "Updated IAM policy."

    def remove_binding(self, kind: str) -> str:
        policy, pair = self.binding(kind)
        if pair not in policy:
            raise GcloudError("ERROR: Policy binding with the specified principal, role, and condition not found!")
        policy.remove(pair)
        return "Updated IAM policy."

    def check_member(self, member: str) -> None:
        if "$" in member:
            raise GcloudError(f"ERROR: INVALID_ARGUMENT: Invalid principal: {member}")
        kind, _, email = member.partition(":")
        if kind == "serviceAccount" and email.endswith(f"@{self.project}.iam.gserviceaccount.com"):
            if not self.cloud.has("iam service-accounts", email):
                raise GcloudError(f"ERROR: INVALID_ARGUMENT: Service account {email} does not exist.")

    def require_flag_resource(self, flag: str, kind: str) -> None:
        value = self.flags.get(flag)
        if isinstance(value, str):
            self.cloud.require(kind, short(value) if kind != "iam service-accounts" else value, "create",
                               self.project, self.region)

    def topic_path(self, value: str) -> str:
        return value if value.startswith("projects/") else f"projects/{self.project}/topics/{value}"

    # --- creates (KINDS): prerequisites, and the resource as the API describes it ---

    def new_service_account(self, name: str) -> dict:
        return {"email": name, "displayName": self.flag("--display-name"), "description": self.flag("--description")}

    def new_secret(self, name: str) -> dict:
        self.cloud.state["versions"][name] = [self.read_stdin()] if self.flag("--data-file") == "-" else []
        return {"name": f"projects/{self.project}/secrets/{name}", "labels": labels_of(self.flags),
                "replication": {"userManaged": {"replicas": [{"location": self.flag("--locations")}]}}}

    def new_redis_instance(self, name: str) -> dict:
        self.require_flag_resource("--network", "compute networks")
        tls = self.flag("--transit-encryption-mode") == "server-authentication"
        auth = self.flags.get("--enable-auth") is True
        configs = split_env_vars(self.flag("--redis-config"))
        resource = {
            "name": f"projects/{self.project}/locations/{self.region}/instances/{name}",
            "tier": "STANDARD_HA" if self.flag("--tier") == "standard" else "BASIC",
            "memorySizeGb": int(self.flag("--size") or 1),
            "authorizedNetwork": f"projects/{self.project}/global/networks/{short(self.flag('--network') or 'default')}",
            "redisVersion": (self.flag("--redis-version") or "redis_7_2").upper(),
            "host": REDIS_HOST, "port": int(REDIS_TLS_PORT if tls else REDIS_PORT),
            "authEnabled": auth, "transitEncryptionMode": "SERVER_AUTHENTICATION" if tls else "DISABLED",
            "labels": labels_of(self.flags),
        }
        if configs:
            resource["redisConfigs"] = configs
        if tls:
            resource["serverCaCerts"] = [{"cert": FAKE_CA.format(name), "serialNumber": "1"}]
        if resource["tier"] == "STANDARD_HA":
            resource["replicaCount"] = 1
        if auth:
            self.cloud.state["auth_strings"][name] = os.urandom(16).hex()
        return resource

    def new_redis_cluster(self, name: str) -> dict:
        network = self.flag("--network")
        self.cloud.require("compute networks", short(network), "create", self.project)
        policies = self.cloud.table("network-connectivity service-connection-policies").values()
        if not any(p["serviceClass"] == "gcp-memorystore-redis" and p["network"] == network for p in policies):
            raise GcloudError("ERROR: (gcloud.redis.clusters.create) FAILED_PRECONDITION: no service connection policy "
                              f"for gcp-memorystore-redis on {network}")
        tls = self.flag("--transit-encryption-mode") == "server-authentication"
        return {
            "name": f"projects/{self.project}/locations/{self.region}/clusters/{name}",
            "shardCount": int(self.flag("--shard-count")), "replicaCount": int(self.flag("--replica-count") or 0),
            "nodeType": self.flag("--node-type").upper().replace("-", "_"),
            "authorizationMode": "AUTH_MODE_IAM_AUTH" if self.flag("--auth-mode") == "iam-auth" else "AUTH_MODE_DISABLED",
            "transitEncryptionMode": ("TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION" if tls
                                      else "TRANSIT_ENCRYPTION_MODE_DISABLED"),
            "redisConfigs": split_env_vars(self.flag("--redis-config")),
            "pscConfigs": [{"network": network}],
            "discoveryEndpoints": [{"address": CLUSTER_ADDRESS, "port": 6379}],
            "zoneDistributionConfig": {"mode": self.flag("--zone-distribution-mode").upper().replace("-", "_")},
        }

    def new_connection_policy(self, name: str) -> dict:
        self.cloud.require("compute networks", short(self.flag("--network")), "create", self.project)
        for subnet in self.flag("--subnets").split(","):
            self.cloud.require("compute networks subnets", short(subnet), "create", self.project, self.region)
        return {"name": f"projects/{self.project}/locations/{self.region}/serviceConnectionPolicies/{name}",
                "network": self.flag("--network"), "serviceClass": self.flag("--service-class"),
                "pscConfig": {"subnetworks": self.flag("--subnets").split(",")}, "labels": labels_of(self.flags)}

    def new_connector(self, name: str) -> dict:
        self.cloud.require("compute networks", self.flag("--network"), "create", self.project)
        return {"name": f"projects/{self.project}/locations/{self.region}/connectors/{name}",
                "network": self.flag("--network"), "ipCidrRange": self.flag("--range")}

    def new_topic(self, name: str) -> dict:
        return {"name": self.topic_path(name), "labels": labels_of(self.flags)}

    def new_subscription(self, name: str) -> dict:
        self.cloud.require("pubsub topics", self.flag("--topic"), "create")
        resource = {"name": f"projects/{self.project}/subscriptions/{name}", "topic": self.topic_path(self.flag("--topic")),
                    "ackDeadlineSeconds": int(self.flag("--ack-deadline") or 10), "labels": labels_of(self.flags),
                    "expirationPolicy": {"ttl": "2678400s"}, "messageRetentionDuration": "604800s"}
        self.apply_subscription_flags(resource)
        return resource

    def apply_subscription_flags(self, resource: dict) -> None:
        if "--push-endpoint" in self.flags:
            resource.setdefault("pushConfig", {})["pushEndpoint"] = self.flag("--push-endpoint")
        if "--push-auth-service-account" in self.flags:
            self.cloud.require("iam service-accounts", self.flag("--push-auth-service-account"), "update")
            resource.setdefault("pushConfig", {}).setdefault("oidcToken", {})["serviceAccountEmail"] = \
                self.flag("--push-auth-service-account")
        if "--push-auth-token-audience" in self.flags:
            resource.setdefault("pushConfig", {}).setdefault("oidcToken", {})["audience"] = \
                self.flag("--push-auth-token-audience")
        if "--push-no-wrapper" in self.flags:
            resource.setdefault("pushConfig", {})["noWrapper"] = {}
        if "--clear-push-no-wrapper-config" in self.flags:
            resource.get("pushConfig", {}).pop("noWrapper", None)
        if "--ack-deadline" in self.flags:
            resource["ackDeadlineSeconds"] = int(self.flag("--ack-deadline"))
        for flag, key in (("--min-retry-delay", "minimumBackoff"), ("--max-retry-delay", "maximumBackoff")):
            if flag in self.flags:
                resource.setdefault("retryPolicy", {})[key] = self.flag(flag)
        if "--dead-letter-topic" in self.flags:
            self.cloud.require("pubsub topics", self.flag("--dead-letter-topic"), "update")
            resource.setdefault("deadLetterPolicy", {})["deadLetterTopic"] = self.topic_path(self.flag("--dead-letter-topic"))
        if "--max-delivery-attempts" in self.flags:
            resource.setdefault("deadLetterPolicy", {})["maxDeliveryAttempts"] = int(self.flag("--max-delivery-attempts"))
        if "--expiration-period" in self.flags:
            period = self.flag("--expiration-period")
            resource["expirationPolicy"] = {} if period == "never" else {"ttl": period}
        if "--message-retention-duration" in self.flags:
            resource["messageRetentionDuration"] = self.flag("--message-retention-duration")

    def new_repository(self, name: str) -> dict:
        return {"name": f"projects/{self.project}/locations/{self.region}/repositories/{name}",
                "format": self.flag("--repository-format").upper(), "labels": labels_of(self.flags)}

    def config(self) -> dict:
        path = self.flag("--config-from-file")
        if not path:
            raise GcloudError("ERROR: fake gcloud: only --config-from-file is supported", 2)
        with open(path) as config:
            return json.load(config)

    def new_dashboard(self, name: str) -> dict:
        resource = self.config()
        resource["name"] = f"projects/{PROJECT_NUMBER}/dashboards/{name}"
        resource["etag"] = etag_of(json.dumps(resource, sort_keys=True))
        return resource

    # --- special commands ---

    def read_stdin(self) -> str:
        data = sys.stdin.read()
        with open(os.path.join(self.cloud.directory, "stdin.jsonl"), "a") as log:
            log.write(json.dumps({"argv": self.argv, "stdin": data}) + "\n")
        return data

    def subscription_update(self) -> str:
        resource = self.cloud.require("pubsub subscriptions", self.name, "update")
        self.apply_subscription_flags(resource)
        return f"Updated subscription [{self.name}]."

    def dashboard_update(self) -> str:
        current = self.cloud.require("monitoring dashboards", self.name, "update")
        config = self.config()
        if config.get("etag") and config["etag"] != current["etag"]:
            raise GcloudError("ERROR: (gcloud.monitoring.dashboards.update) ABORTED: etag mismatch")
        config.pop("etag", None)
        config["name"] = current["name"]
        # Each version has an etag of its own, even one that restores an earlier content.
        config["etag"] = etag_of(json.dumps(config, sort_keys=True) + current["etag"])
        self.cloud.table("monitoring dashboards")[self.name] = config
        return f"Updated [{self.name}]."

    def policies_list(self) -> str:
        found = [p for p in self.cloud.table("network-connectivity service-connection-policies").values()
                 if f"/locations/{self.region}/" in p["name"]]
        return formatted(self.flags, found, "\n".join(short(p["name"]) for p in found))

    def redis_auth_string(self) -> str:
        instance = self.cloud.require("redis instances", self.name, "get-auth-string")
        if not instance.get("authEnabled"):
            raise GcloudError("ERROR: (gcloud.redis.instances.get-auth-string) FAILED_PRECONDITION: AUTH is not enabled")
        return formatted(self.flags, {"authString": self.cloud.state["auth_strings"][self.name]}, "")

    def cluster_certificate_authority(self) -> str:
        self.cloud.require("redis clusters", self.name, "get-cluster-certificate-authority")
        chain = [FAKE_CA.format(f"{self.name}-leaf"), FAKE_CA.format(f"{self.name}-root")]
        return formatted(self.flags, {"managedServerCa": {"caCerts": [{"certificates": chain}]}}, "")

    def run_deploy(self) -> str:
        service_flags, container_flags = split_containers(self.argv)
        models = self.cloud.state["run_models"]
        model = models.get(self.name) or {"containers": [], "service": {}, "labels": {}}
        for name, flags in container_flags.items():
            self.apply_container(model, name, flags)
        removed = service_flags.pop("--remove-containers", None)
        if isinstance(removed, str):
            model["containers"] = [c for c in model["containers"] if c["name"] not in removed.split(",")]
        self.apply_service(model, service_flags)
        if len(model["containers"]) > 1 and sum(1 for c in model["containers"] if c.get("port")) != 1:
            raise GcloudError("ERROR: (gcloud.run.deploy) exactly one container must declare a port (the ingress)")
        models[self.name] = model
        self.cloud.table("run services")[self.name] = self.knative(model)
        return f"Service [{self.name}] has been deployed and is serving traffic.\nService URL: {service_url(self.name)}"

    def apply_container(self, model: dict, name: str, flags: dict) -> None:
        containers = model["containers"]
        if name == "":
            container = containers[0] if containers else None
            name = container["name"] if container else f"{self.name}-1"
        container = next((c for c in containers if c["name"] == name), None)
        if container is None:
            container = {"name": name, "env": {}, "secrets": {}}
            containers.append(container)
        image = flags.get("--image", container.get("image"))
        if not isinstance(image, str):
            raise GcloudError(f"ERROR: (gcloud.run.deploy) container {name} has no image")
        self.require_image(image)
        container["image"] = image
        if "--port" in flags:
            container["port"] = int(flags["--port"])
        if "--set-env-vars" in flags:
            container["env"] = split_env_vars(str(flags["--set-env-vars"]))
        if "--remove-secrets" in flags:
            for key in str(flags["--remove-secrets"]).split(","):
                container["secrets"].pop(key, None)
        if "--update-secrets" in flags:
            for key, reference in split_env_vars(str(flags["--update-secrets"])).items():
                secret = reference.split(":")[0]
                self.cloud.require("secrets", secret, "deploy")
                if not self.cloud.state["versions"].get(secret):
                    raise GcloudError(f"ERROR: (gcloud.run.deploy) secret {secret} has no version")
                container["secrets"][key] = reference
        for flag, key in (("--startup-probe", "startupProbe"), ("--liveness-probe", "livenessProbe")):
            if flag in flags:
                container[key] = probe(str(flags[flag]))
        if "--depends-on" in flags:
            container["dependsOn"] = str(flags["--depends-on"]).split(",")

    def require_image(self, image: str) -> None:
        repository_path, _, tag = image.rpartition(":")
        if ".pkg.dev/" + self.project + "/" not in image:
            return  # someone else's public image, such as Google's metrics sidecar
        package = repository_path.rsplit("/", 1)[-1]
        repository = repository_path.rsplit("/", 2)[-2] if repository_path.count("/") >= 2 else ""
        if not tag or package not in self.cloud.state["packages"].get(repository, []):
            raise GcloudError(f"ERROR: (gcloud.run.deploy) Image '{image}' not found.")

    def apply_service(self, model: dict, flags: dict) -> None:
        service = model["service"]
        if "--service-account" in flags:
            self.cloud.require("iam service-accounts", str(flags["--service-account"]), "deploy")
        if "--vpc-connector" in flags:
            self.cloud.require("compute networks vpc-access connectors", str(flags["--vpc-connector"]), "deploy")
        if "--network" in flags:
            self.cloud.require("compute networks", str(flags["--network"]), "deploy", self.project)
        if "--subnet" in flags:
            self.cloud.require("compute networks subnets", str(flags["--subnet"]), "deploy", self.project, self.region)
        if "--clear-vpc-connector" in flags:
            service.pop("--vpc-connector", None)
        if "--clear-network" in flags:
            service.pop("--network", None)
            service.pop("--subnet", None)
        for flag in ("--no-cpu-throttling", "--cpu-throttling"):
            if flag in flags:
                service.pop("--no-cpu-throttling", None)
                service.pop("--cpu-throttling", None)
        model["labels"].update(labels_of(flags))
        for flag, value in flags.items():
            if flag not in {"--project", "--region", "--labels", "--update-labels", "--clear-vpc-connector",
                            "--clear-network", "--format", "--quiet"}:
                service[flag] = value
        if "--vpc-connector" in service and "--network" in service:
            raise GcloudError("ERROR: (gcloud.run.deploy) a service cannot use a VPC connector and Direct VPC egress "
                              "at once: clear one (--clear-vpc-connector or --clear-network)")

    def knative(self, model: dict) -> dict:
        service = model["service"]
        annotations = {}
        if "--vpc-connector" in service:
            annotations["run.googleapis.com/vpc-access-connector"] = service["--vpc-connector"]
        if "--network" in service:
            annotations["run.googleapis.com/network-interfaces"] = json.dumps(
                [{"network": service["--network"], "subnetwork": service.get("--subnet", service["--network"])}])
        if "--vpc-egress" in service:
            annotations["run.googleapis.com/vpc-access-egress"] = service["--vpc-egress"]
        if "--no-cpu-throttling" in service:
            annotations["run.googleapis.com/cpu-throttling"] = "false"
        containers, volumes = [], []
        for container in model["containers"]:
            entry = {"name": container["name"], "image": container["image"],
                     "env": [{"name": key, "value": value} for key, value in container["env"].items()]}
            mounts = []
            for key, reference in container["secrets"].items():
                secret, _, version = reference.partition(":")
                if key.startswith("/"):
                    directory, _, file = key.rpartition("/")
                    volume = f"{secret}-{len(volumes)}"
                    volumes.append({"name": volume, "secret": {"secretName": secret,
                                                               "items": [{"key": version, "path": file}]}})
                    mounts.append({"name": volume, "mountPath": directory})
                else:
                    entry["env"].append({"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": version}}})
            if mounts:
                entry["volumeMounts"] = mounts
            if container.get("port"):
                entry["ports"] = [{"containerPort": container["port"], "name": "http1"}]
            for key in ("startupProbe", "livenessProbe"):
                if key in container:
                    entry[key] = container[key]
            containers.append(entry)
        spec = {"containers": containers, "serviceAccountName": service.get("--service-account", "")}
        if volumes:
            spec["volumes"] = volumes
        return {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": self.name, "labels": dict(model["labels"]),
                         "annotations": {"run.googleapis.com/ingress": service.get("--ingress", "all")}},
            "spec": {"template": {"metadata": {"annotations": annotations}, "spec": spec}},
            "status": {"url": service_url(self.name)},
        }

    def builds_submit(self) -> str:
        substitutions = split_env_vars(str(self.flags.get("--substitutions", "")))
        image = substitutions.get("_IMAGE", "")
        parts = image.split(":")[0].split("/")
        if len(parts) != 4 or not parts[0].endswith("-docker.pkg.dev"):
            raise GcloudError(f"ERROR: (gcloud.builds.submit) invalid image name {image!r}")
        repository = parts[2]
        self.cloud.require("artifacts repositories", repository, "submit")
        packages = self.cloud.state["packages"].setdefault(repository, [])
        if parts[3] not in packages:
            packages.append(parts[3])
        return f"DONE\nIMAGES: {image}"

    def services_enable(self) -> str:
        enabled = self.cloud.state["enabled"]
        enabled.extend(api for api in self.args if api not in enabled)
        return "Operation finished successfully."

    def services_list(self) -> str:
        return "\n".join(self.cloud.state["enabled"]) if self.flags.get("--enabled") else ""

    def secret_versions_add(self) -> str:
        self.cloud.require("secrets", self.name, "versions.add")
        if self.flag("--data-file") != "-":
            raise GcloudError("ERROR: fake gcloud: only --data-file=- is supported", 2)
        self.cloud.state["versions"].setdefault(self.name, []).append(self.read_stdin())
        return "Created version."

    def secret_versions_list(self) -> str:
        self.cloud.require("secrets", self.name, "versions.list")
        count = len(self.cloud.state["versions"].get(self.name, []))
        return "\n".join(str(number) for number in range(count, 0, -1))

    def secret_versions_access(self) -> str:
        secret = self.flag("--secret")
        self.cloud.require("secrets", secret, "versions.access")
        versions = self.cloud.state["versions"].get(secret, [])
        if self.name != "latest" or not versions:
            raise GcloudError(f"ERROR: (gcloud.secrets.versions.access) NOT_FOUND: version {self.name} of {secret}")
        sys.stdout.write(versions[-1])
        return ""

    def repository(self) -> list[str]:
        repository = str(self.flags.get("--repository", ""))
        self.cloud.require("artifacts repositories", repository, "packages")
        return self.cloud.state["packages"].setdefault(repository, [])

    def packages_list(self) -> str:
        return "\n".join(self.repository())

    def package_describe(self) -> str:
        if self.name not in self.repository():
            raise GcloudError(f"ERROR: (gcloud.artifacts.packages.describe) NOT_FOUND: package {self.name}")
        return formatted(self.flags, {"name": self.name}, self.name)

    def package_delete(self) -> str:
        packages = self.repository()
        if self.name not in packages:
            raise GcloudError(f"ERROR: (gcloud.artifacts.packages.delete) NOT_FOUND: package {self.name}")
        packages.remove(self.name)
        return f"Deleted package [{self.name}]."


def _unsupported(handler: Handler, name: str) -> dict:
    raise GcloudError(f"fake gcloud: creating {' '.join(handler.command[:-1])} is not supported", 2)


# The resource kinds (gcloud command groups) the stand-in knows, with how their create makes one.
KINDS = {
    "projects": _unsupported,
    "compute networks": _unsupported,
    "compute networks subnets": _unsupported,
    "iam service-accounts": Handler.new_service_account,
    "secrets": Handler.new_secret,
    "redis instances": Handler.new_redis_instance,
    "redis clusters": Handler.new_redis_cluster,
    "network-connectivity service-connection-policies": Handler.new_connection_policy,
    "compute networks vpc-access connectors": Handler.new_connector,
    "artifacts repositories": Handler.new_repository,
    "run services": _unsupported,
    "pubsub topics": Handler.new_topic,
    "pubsub subscriptions": Handler.new_subscription,
    "monitoring dashboards": Handler.new_dashboard,
}


def main(argv: list[str]) -> int:
    directory = os.environ["FAKE_GCLOUD_DIR"]
    with open(os.path.join(directory, "calls.jsonl"), "a") as log:
        log.write(json.dumps({"argv": argv}) + "\n")
    cloud = FakeCloud(directory)
    try:
        failing = os.environ.get("FAKE_GCLOUD_FAIL")
        if failing and failing in " ".join(argv):
            raise GcloudError("ERROR: (gcloud) PERMISSION_DENIED: the caller does not have permission")
        output = Handler(cloud, argv).run()
    except GcloudError as error:
        print(error, file=sys.stderr)
        return error.code
    cloud.save()
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
