"""Security properties of the Terraform under `terraform/`, read with python-hcl2 (no provider, no network).

Each check takes the parsed tree of a Terraform directory and returns what it found, so the same function is
run on the real configuration and on a deliberately broken copy. Only structure is read: expressions stay
strings, and a module call is judged by its arguments (e.g. `public = true`) and by the module's own code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hcl2.api import load as hcl_load

from common.infra.pubsub import MAX_DELIVERY_ATTEMPTS

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
SECRETISH = re.compile(r"(^|_)(TOKEN|SECRET|KEY|PASSWORD|SALT)(_|$)")
ENV_KEY = re.compile(r"""["']?\b([A-Z][A-Z0-9_]*)\b["']?\s*(?::|=(?!=|>))""")
MODULE_REF = re.compile(r"module\.(\w+)")
SERVICE_MODULE = "modules/cloud_run_service"
JOB_MODULE = "modules/cloud_run_job"


@dataclass(frozen=True, slots=True)
class Block:
    """One `resource` or `module` block: its file, type ("module" for module calls), name and body."""

    path: Path
    type: str
    name: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Tree:
    root: Path
    files: dict[Path, dict[str, Any]]

    def resources(self, *types: str) -> Iterator[Block]:
        for path, parsed in self.files.items():
            for entry in parsed.get("resource", []):
                for rtype, named in entry.items():
                    if types and rtype not in types:
                        continue
                    for name, body in named.items():
                        yield Block(path, rtype, name, body)

    def modules(self, source_suffix: str | None = None) -> Iterator[Block]:
        for path, parsed in self.files.items():
            for entry in parsed.get("module", []):
                for name, body in entry.items():
                    if source_suffix is None or str(scalar(body.get("source"))).endswith(source_suffix):
                        yield Block(path, "module", name, body)

    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for parsed in self.files.values():
            for entry in parsed.get("locals", []):
                merged.update({k: v for k, v in entry.items() if not k.startswith("__")})
        return merged

    def in_module(self, block: Block) -> bool:
        return "modules" in block.path.relative_to(self.root).parts


def load(root: Path) -> Tree:
    files: dict[Path, dict[str, Any]] = {}
    for path in sorted(root.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        with path.open(encoding="utf-8") as handle:
            files[path] = _plain(hcl_load(handle))
    return Tree(root=root, files=files)


def _plain(value: Any) -> Any:
    """python-hcl2 8 keeps string literals' quotes (`'"allUsers"'`, block labels too) and marks blocks with
    `__is_block__`; strip both so the checks read literals as Terraform means them."""
    if isinstance(value, dict):
        return {_unquote(key): _plain(item) for key, item in value.items() if key != "__is_block__"}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def scalar(value: Any) -> Any:
    """python-hcl2 wraps attribute values in one-element lists; unwrap them."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block (or repeated blocks) as a list of bodies."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)]


def text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- allUsers invokers -----------------------------------------------------------------------------------


def _public_grants(body: dict[str, Any]) -> bool:
    members = [text(scalar(body.get("member")))] + [text(m) for m in scalar(body.get("members")) or []]
    policy = text(scalar(body.get("policy_data")))
    return any(p in m for m in [*members, policy] for p in PUBLIC_MEMBERS)


def public_services(tree: Tree) -> set[str]:
    """Cloud Run services anyone on the internet may invoke, by module or resource name.

    A grant to allUsers inside the service module counts only when gated by `count = var.public ? 1 : 0`,
    and then each module call with `public = true` is public. A grant anywhere else names its target."""
    found: set[str] = set()
    iam_types = (
        "google_cloud_run_v2_service_iam_member",
        "google_cloud_run_v2_service_iam_binding",
        "google_cloud_run_v2_service_iam_policy",
        "google_cloud_run_service_iam_member",
        "google_cloud_run_service_iam_binding",
        "google_cloud_run_service_iam_policy",
        "google_cloudfunctions2_function_iam_member",
        "google_cloudfunctions2_function_iam_binding",
    )
    module_gated = False
    for block in tree.resources(*iam_types):
        if not _public_grants(block.body):
            continue
        if tree.in_module(block):
            count = text(scalar(block.body.get("count")))
            if "var.public" in count:
                module_gated = True
                continue
            found.add(f"{block.path.parent.name}:{block.name} (ungated)")
            continue
        target = text(scalar(block.body.get("name") or block.body.get("service")))
        match = MODULE_REF.search(target)
        found.add(match.group(1) if match else target)
    for call in tree.modules(SERVICE_MODULE):
        if scalar(call.body.get("public")) is True:
            found.add(call.name if module_gated else f"{call.name} (public, but module not gated)")
    for block in tree.resources("google_cloud_run_v2_service"):
        if block.name != "main" or not tree.in_module(block):
            found.add(f"{block.name} (service outside the module: check by hand)")
    return found


# --- bucket --------------------------------------------------------------------------------------------


def bucket_problems(tree: Tree) -> list[str]:
    problems: list[str] = []
    for block in tree.resources("google_storage_bucket"):
        if scalar(block.body.get("uniform_bucket_level_access")) is not True:
            problems.append(f"{block.name}: uniform_bucket_level_access is not true")
        if scalar(block.body.get("public_access_prevention")) != "enforced":
            problems.append(f'{block.name}: public_access_prevention is not "enforced"')
        versioning = blocks(scalar(block.body.get("versioning")))
        if not versioning or scalar(versioning[0].get("enabled")) is not True:
            problems.append(f"{block.name}: versioning is off")
    for block in tree.resources(
        "google_storage_bucket_iam_member",
        "google_storage_bucket_iam_binding",
        "google_storage_bucket_iam_policy",
        "google_storage_bucket_access_control",
        "google_storage_default_object_access_control",
        "google_storage_object_access_control",
    ):
        entity = text(scalar(block.body.get("entity")))
        if _public_grants(block.body) or entity.startswith("all"):
            problems.append(f"{block.type}.{block.name}: grants access to the public")
    return problems


# --- secrets in environment variables ------------------------------------------------------------------


def env_keys(value: Any, local_values: dict[str, Any]) -> set[str]:
    """Environment variable names in a map literal or expression, following `local.X` references."""
    raw = text(value)
    keys = set(ENV_KEY.findall(raw))
    for ref in re.findall(r"local\.(\w+)", raw):
        if ref in local_values:
            keys |= set(ENV_KEY.findall(text(local_values[ref])))
    return keys


def plain_secret_env(tree: Tree) -> list[str]:
    """Credentials-like variables (…TOKEN…, …SECRET…, …KEY…) given as plain values instead of secret refs."""
    problems: list[str] = []
    local_values = tree.locals()
    for block in tree.resources("google_cloud_run_v2_service", "google_cloud_run_v2_job"):
        for container in _containers(block.body):
            for env in blocks(container.get("env")):
                name = str(scalar(env.get("name")))
                if SECRETISH.search(name) and not env.get("value_source"):
                    problems.append(f"{block.type}.{block.name}: {name} is a plain value")
            for dynamic in blocks(container.get("dynamic")):
                for label, body in dynamic.items():
                    if label != "env":
                        continue
                    content = blocks(scalar(body.get("content")))
                    plain = any("value" in c and "value_source" not in c for c in content)
                    source = text(scalar(body.get("for_each")))
                    if plain and "secret" in source:
                        problems.append(f"{block.type}.{block.name}: {source} is set as plain values")
    for call in [*tree.modules(SERVICE_MODULE), *tree.modules(JOB_MODULE)]:
        for key in env_keys(scalar(call.body.get("env")), local_values):
            if SECRETISH.search(key):
                problems.append(f"module.{call.name}: {key} is in env (plain); put it in secret_env")
        secret_env = scalar(call.body.get("secret_env"))
        if isinstance(secret_env, dict):
            problems.extend(
                f"module.{call.name}: secret_env {key} is a literal, not a Secret Manager secret"
                for key, value in secret_env.items()
                if "google_secret_manager_secret" not in text(value) and "local." not in text(value)
            )
    return problems


def _containers(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for template in blocks(scalar(body.get("template"))):
        yield from blocks(template.get("containers"))
        for inner in blocks(scalar(template.get("template"))):  # jobs: template.template.containers
            yield from blocks(inner.get("containers"))


# --- identities ----------------------------------------------------------------------------------------


def identity_problems(tree: Tree) -> list[str]:
    """Every Cloud Run service and job runs as a service account of its own."""
    problems: list[str] = []
    for block in tree.resources("google_cloud_run_v2_service", "google_cloud_run_v2_job"):
        templates = blocks(scalar(block.body.get("template")))
        if block.type == "google_cloud_run_v2_job":
            templates = [t for outer in templates for t in blocks(scalar(outer.get("template")))]
        if not templates or not all(scalar(t.get("service_account")) for t in templates):
            problems.append(
                f"{block.type}.{block.name}: no service_account (would run as the default account)"
            )
    seen: dict[str, str] = {}
    for call in [*tree.modules(SERVICE_MODULE), *tree.modules(JOB_MODULE)]:
        account = scalar(call.body.get("service_account_email"))
        if not account:
            problems.append(f"module.{call.name}: no service_account_email")
            continue
        account = text(account)
        if account in seen:
            problems.append(f"module.{call.name}: shares its service account with module.{seen[account]}")
        seen[account] = call.name
    return problems


# --- Pub/Sub push --------------------------------------------------------------------------------------


def push_problems(tree: Tree, target_module: str = "slack_answer") -> list[str]:
    """The push subscription to the answer worker authenticates with OIDC and dead-letters after as many
    tries as the worker counts on (`MAX_DELIVERY_ATTEMPTS`): the policy is what makes Pub/Sub send
    `deliveryAttempt`, and the worker apologises on the last one."""
    problems: list[str] = []
    pushes = [
        (block, push)
        for block in tree.resources("google_pubsub_subscription")
        for push in blocks(scalar(block.body.get("push_config")))
    ]
    to_target = [
        (b, p) for b, p in pushes if f"module.{target_module}." in text(scalar(p.get("push_endpoint")))
    ]
    if not to_target:
        problems.append(f"no push subscription to module.{target_module}")
    for block, push in pushes:
        oidc = blocks(scalar(push.get("oidc_token")))
        if not oidc or not scalar(oidc[0].get("service_account_email")):
            problems.append(f"{block.name}: push without an OIDC token")
    for block, _ in to_target:
        dead = blocks(scalar(block.body.get("dead_letter_policy")))
        if not dead or scalar(dead[0].get("max_delivery_attempts")) != MAX_DELIVERY_ATTEMPTS:
            problems.append(
                f"{block.name}: no dead_letter_policy with max_delivery_attempts = {MAX_DELIVERY_ATTEMPTS}"
            )
        if not blocks(scalar(block.body.get("retry_policy"))):
            problems.append(f"{block.name}: no retry_policy")
    return problems
