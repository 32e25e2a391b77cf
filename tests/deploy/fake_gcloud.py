"""A stand-in for the Google Cloud CLI, which the deploy tests put first on PATH as `gcloud`.

It answers the commands deploy/ uses the way gcloud does, and keeps what they create in a
state file, so a second run finds everything the first one made:

- every call's argv is appended to ``calls.jsonl`` in $FAKE_GCLOUD_DIR before it is handled;
  what arrives on stdin for ``--data-file=-`` goes, separately, to ``stdin.jsonl``;
- ``describe`` of an absent resource fails (exit 1, ``NOT_FOUND`` on stderr); ``create`` of a
  present one fails (``ALREADY_EXISTS``), as do commands whose prerequisites are missing
  (deploying an image that was never pushed, subscribing to a missing topic, binding a role
  to a service account that does not exist, a member holding an unexpanded ``$VARIABLE``);
- ``--format=value(host)`` / ``value(port)`` / ``value(status.url)`` / ``value(projectNumber)``
  answer an IP, a port, a URL and a project number;
- $FAKE_GCLOUD_FAIL: calls whose joined argv contains this text fail with PERMISSION_DENIED.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

VERBS = {
    "describe", "create", "delete", "list", "enable", "deploy", "submit", "add",
    "get-iam-policy", "add-iam-policy-binding", "remove-iam-policy-binding",
}
PROJECT_NUMBER = "123456789012"
REDIS_HOST = "10.127.0.3"
REDIS_PORT = "6379"


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


def split_env_vars(value: str) -> dict[str, str]:
    """The NAME=VALUE pairs of --set-env-vars or --substitutions, with gcloud's ^DELIM^ syntax."""
    delimiter = ","
    if value.startswith("^") and value.find("^", 1) > 1:
        end = value.find("^", 1)
        delimiter, value = value[1:end], value[end + 1:]
    return dict(item.split("=", 1) for item in value.split(delimiter) if item)


class FakeCloud:
    def __init__(self, directory: Path):
        self.directory = directory
        self.state_file = directory / "state.json"
        if self.state_file.exists():
            self.state = json.loads(self.state_file.read_text())
        else:
            self.state = {"resources": {}, "policies": {}, "enabled": [], "versions": {}, "packages": {}}

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state, indent=1, sort_keys=True))

    # --- resources ---

    def table(self, kind: str) -> dict:
        return self.state["resources"].setdefault(kind, {})

    def has(self, kind: str, name: str) -> bool:
        return kind == "projects" or name in self.table(kind)

    def require(self, kind: str, name: str, verb: str) -> None:
        if not self.has(kind, name):
            raise GcloudError(f"ERROR: (gcloud.{kind.replace(' ', '.')}.{verb}) NOT_FOUND: "
                              f"{kind} [{name}] not found")

    def policy(self, kind: str, name: str) -> list[list[str]]:
        return self.state["policies"].setdefault(f"{kind}|{name}", [])

    def forget(self, kind: str, name: str) -> None:
        self.table(kind).pop(name, None)
        self.state["policies"].pop(f"{kind}|{name}", None)


def service_account_email(name: str, project: str) -> str:
    return name if "@" in name else f"{name}@{project}.iam.gserviceaccount.com"


def service_url(name: str) -> str:
    return f"https://{name}-x7f3kq2lma-uc.a.run.app"


def formatted(flags: dict, kind: str, name: str) -> str:
    fmt = flags.get("--format", "")
    answers = {
        "value(host)": REDIS_HOST,
        "value(port)": REDIS_PORT,
        "value(status.url)": service_url(name),
        "value(projectNumber)": PROJECT_NUMBER,
        "none": "",
    }
    return answers.get(fmt, name)


class Handler:
    def __init__(self, cloud: FakeCloud, argv: list[str]):
        self.cloud = cloud
        self.command, self.args, self.flags = split_call(argv)
        self.project = self.flags.get("--project")
        if not isinstance(self.project, str) or not self.project:
            raise GcloudError("ERROR: (gcloud) The required property [project] is not currently set.", 2)

    @property
    def name(self) -> str:
        if not self.args:
            raise GcloudError(f"ERROR: (gcloud.{'.'.join(self.command)}) a resource name is required", 2)
        return self.args[0]

    def run(self) -> str:
        verb, group = self.command[-1], " ".join(self.command[:-1])
        special = {
            ("run", "deploy"): self.run_deploy,
            ("builds", "submit"): self.builds_submit,
            ("services", "enable"): self.services_enable,
            ("services", "list"): self.services_list,
            ("secrets", "versions", "add"): self.secret_versions_add,
            ("secrets", "versions", "list"): self.secret_versions_list,
            ("artifacts", "packages", "list"): self.packages_list,
            ("artifacts", "packages", "describe"): self.package_describe,
            ("artifacts", "packages", "delete"): self.package_delete,
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
        return self.name

    # --- generic verbs ---

    def describe(self, kind: str) -> str:
        name = self.resource_name(kind)
        self.cloud.require(kind, name, "describe")
        return formatted(self.flags, kind, name)

    def create(self, kind: str) -> str:
        name = self.resource_name(kind)
        if self.cloud.has(kind, name):
            raise GcloudError(f"ERROR: (gcloud.{kind.replace(' ', '.')}.create) ALREADY_EXISTS: {name}")
        KINDS[kind](self)
        self.cloud.table(kind)[name] = {"flags": self.flags}
        if kind == "secrets":
            self.cloud.state["versions"][name] = 1
        return f"Created {kind} [{name}]."

    def delete(self, kind: str) -> str:
        name = self.resource_name(kind)
        self.cloud.require(kind, name, "delete")
        self.cloud.forget(kind, name)
        if kind == "artifacts repositories":
            self.cloud.state["packages"].pop(name, None)
        if kind == "secrets":
            self.cloud.state["versions"].pop(name, None)
        return f"Deleted {kind} [{name}]."

    def get_policy(self, kind: str) -> str:
        name = self.resource_name(kind)
        self.cloud.require(kind, name, "get-iam-policy")
        return "\n".join(f"{role}\t{member}" for role, member in self.cloud.policy(kind, name))

    def binding(self, kind: str) -> tuple[list[list[str]], list[str]]:
        name = self.resource_name(kind)
        self.cloud.require(kind, name, "add-iam-policy-binding")
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

    # --- prerequisites of creates (KINDS) ---

    def require_flag_resource(self, flag: str, kind: str) -> None:
        value = self.flags.get(flag)
        if isinstance(value, str):
            self.cloud.require(kind, value, "create")

    def check_subscription(self) -> None:
        self.require_flag_resource("--topic", "pubsub topics")
        self.require_flag_resource("--dead-letter-topic", "pubsub topics")
        self.require_flag_resource("--push-auth-service-account", "iam service-accounts")

    def check_secret(self) -> None:
        self.read_stdin()

    # --- special commands ---

    def read_stdin(self) -> None:
        if self.flags.get("--data-file") == "-":
            data = sys.stdin.read()
            with open(self.cloud.directory / "stdin.jsonl", "a") as log:
                log.write(json.dumps({"argv": sys.argv[1:], "stdin": data}) + "\n")

    def run_deploy(self) -> str:
        image = self.flags.get("--image", "")
        repository_path, _, tag = str(image).rpartition(":")
        package = repository_path.rsplit("/", 1)[-1]
        repository = repository_path.rsplit("/", 2)[-2] if repository_path.count("/") >= 2 else ""
        if not tag or package not in self.cloud.state["packages"].get(repository, []):
            raise GcloudError(f"ERROR: (gcloud.run.deploy) Image '{image}' not found.")
        self.require_flag_resource("--service-account", "iam service-accounts")
        self.require_flag_resource("--vpc-connector", "compute networks vpc-access connectors")
        secrets = self.flags.get("--update-secrets")
        if isinstance(secrets, str):
            for reference in split_env_vars(secrets).values():
                self.cloud.require("secrets", reference.split(":")[0], "deploy")
        self.cloud.table("run services")[self.name] = {"flags": self.flags}
        return f"Service [{self.name}] has been deployed and is serving traffic.\nService URL: {service_url(self.name)}"

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
        self.read_stdin()
        self.cloud.state["versions"][self.name] = self.cloud.state["versions"].get(self.name, 0) + 1
        return "Created version."

    def secret_versions_list(self) -> str:
        self.cloud.require("secrets", self.name, "versions.list")
        count = self.cloud.state["versions"].get(self.name, 0)
        return "\n".join(str(number) for number in range(count, 0, -1))

    def repository(self) -> list[str]:
        repository = str(self.flags.get("--repository", ""))
        self.cloud.require("artifacts repositories", repository, "packages")
        return self.cloud.state["packages"].setdefault(repository, [])

    def packages_list(self) -> str:
        return "\n".join(self.repository())

    def package_describe(self) -> str:
        if self.name not in self.repository():
            raise GcloudError(f"ERROR: (gcloud.artifacts.packages.describe) NOT_FOUND: package {self.name}")
        return formatted(self.flags, "artifacts packages", self.name)

    def package_delete(self) -> str:
        packages = self.repository()
        if self.name not in packages:
            raise GcloudError(f"ERROR: (gcloud.artifacts.packages.delete) NOT_FOUND: package {self.name}")
        packages.remove(self.name)
        return f"Deleted package [{self.name}]."


def _no_prerequisites(handler: Handler) -> None:
    return None


# The resource kinds (gcloud command groups) the stand-in knows, with what their create needs.
KINDS = {
    "projects": _no_prerequisites,
    "iam service-accounts": _no_prerequisites,
    "secrets": Handler.check_secret,
    "redis instances": _no_prerequisites,
    "compute networks vpc-access connectors": _no_prerequisites,
    "artifacts repositories": _no_prerequisites,
    "run services": _no_prerequisites,
    "pubsub topics": _no_prerequisites,
    "pubsub subscriptions": Handler.check_subscription,
}


def main(argv: list[str]) -> int:
    directory = Path(os.environ["FAKE_GCLOUD_DIR"])
    with open(directory / "calls.jsonl", "a") as log:
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
