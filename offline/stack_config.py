"""The config the Pulumi CLI hands the program for a stack: `Pulumi.yaml` defaults merged with `Pulumi.<stack>.yaml`.

As the CLI does before it starts a Python program: every value a string, secret
keys marked. Secure values (`secure: v1:...` in a stack file, or declared
`secret: true` in Pulumi.yaml and absent) become test secrets: ciphertext can
only be decrypted by the stack's own secrets provider. A stack file the CLI
refuses (not a mapping, a key given twice, a key that is no name) raises
``ConfigError`` naming the file; a top-level key the CLI ignores is a warning
(``stack_file_warnings``). The CLI's checks of declared keys (required, secret,
type) are the CLI's: offline, the program's own settings loader names the same
keys (tests/engine/test_config.py runs both on the same files).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from config.declarations import as_config_string, declarations_of

PROJECT_DIR = Path(__file__).resolve().parent.parent

# What a test secret looks like: easy to find if it ever leaks into an output or a log.
TEST_SECRET_PREFIX = "test-secret-"


def harness_secret(key: str) -> str:
    """The test secret the harness hands over for ``key``: long enough for appSecret's length rule (config/reader.py)."""
    return f"{TEST_SECRET_PREFIX}{key}-0123456789abcdef"


# The secrets an operator sets per stack, by cloud (`pulumi config set --secret KEY ...`, as each
# stack file's comments say; tests/offline/test_harness.py holds the files to it).
OPERATOR_SECRETS: Mapping[str, tuple[str, ...]] = {"digitalocean": ("appSecret",), "aws": ("appSecret", "dbPassword")}

# libyaml's parser (PyYAML's wheels carry it) reads the project file in a twentieth of the pure-Python
# one's time, and every program run reads it; the pure-Python one where PyYAML was built without it.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def project_file() -> dict[str, Any]:
    return yaml.load((PROJECT_DIR / "Pulumi.yaml").read_text(), Loader=_SAFE_LOADER)


# What the Pulumi CLI reads at the top of a stack file; it ignores anything else (a typo, most likely).
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")


class _UniqueKeyLoader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
    """YAML's safe loader, refusing a key given twice in one mapping (the Pulumi CLI refuses it too)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key: the safe loader's own check names it
            if duplicate:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(None, None, f"line {line}: key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _stack_file_error(path: Path, problem: str) -> Exception:
    from config.values import ConfigError

    return ConfigError([f"{path.name}: {problem}"])


def stack_file(stack: str) -> dict[str, Any]:
    """The stack file, checked the way the Pulumi CLI reads it; a bad file raises ``ConfigError`` naming it."""
    path = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; stacks here: {', '.join(list_stacks())}")
    try:
        document = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
    except yaml.constructor.ConstructorError as error:
        raise _stack_file_error(path, error.problem or str(error)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise _stack_file_error(path, f"is not valid YAML: {where}{getattr(error, 'problem', None) or error}") from None
    if not isinstance(document, dict):
        raise _stack_file_error(path, f"must be a mapping with a `config:` section, not a {type(document).__name__}")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise _stack_file_error(path, f"`config` must be a mapping of key: value, not a {type(config).__name__}")
    not_strings = [repr(key) for key in config if not isinstance(key, str)]
    if not_strings:
        raise _stack_file_error(path, f"config keys must be names like immutable-web:region; got {', '.join(not_strings)}")
    return document


def stack_file_warnings(stack: str) -> list[str]:
    """What the CLI passes over in silence: top-level keys it does not read (``secretprovider:``, ``confg:``)."""
    unknown = sorted(str(key) for key in stack_file(stack) if key not in STACK_FILE_KEYS)
    if not unknown:
        return []
    return [f"Pulumi.{stack}.yaml: the Pulumi CLI ignores the top-level key(s) {', '.join(unknown)}; a stack file has only {', '.join(STACK_FILE_KEYS)}"]


def list_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))


def stack_config(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    secrets: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The (config, secret_keys) pair the CLI would give the program for ``stack``.

    ``overrides`` keys are short (``fleetCount``) or full (``digitalocean:token``);
    a value of ``None`` removes the key, as `pulumi config rm` would. ``secrets``
    are set as `pulumi config set --secret` would: the value of a declared secret
    the stack file does not carry, or of any other key (appSecretPrevious), secret.
    """
    project = project_file()
    namespace = project["name"]
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    # The CLI hands over every declared default the stack does not set (config.declarations reads them alike).
    declared = declarations_of(project)
    for key, declaration in declared.items():
        if declaration.default is not None:
            config[f"{namespace}:{key}"] = declaration.default

    for key, value in (stack_file(stack).get("config") or {}).items():
        full_key = key if ":" in key else f"{namespace}:{key}"
        if isinstance(value, dict) and "secure" in value:
            config[full_key] = harness_secret(full_key.split(":")[-1])
            secret_keys.append(full_key)
        else:
            config[full_key] = as_config_string(value)

    # The secrets an operator sets per stack with `pulumi config set --secret` (each stack file's
    # comments say so) when the stack file does not carry them yet: supply a test secret.
    cloud = config.get(f"{namespace}:cloud", "digitalocean")
    # A cloud the program does not know (a typo) still needs appSecret: the program then reports the cloud alone.
    for key in OPERATOR_SECRETS.get(cloud, OPERATOR_SECRETS["digitalocean"]):
        full_key = f"{namespace}:{key}"
        if full_key not in config or config[full_key] == (declared[key].default if key in declared else None):
            config[full_key] = (secrets or {}).get(key, harness_secret(key))
            secret_keys.append(full_key)
    for key, value in (secrets or {}).items():
        full_key = key if ":" in key else f"{namespace}:{key}"
        if full_key not in secret_keys:
            config[full_key] = value
            secret_keys.append(full_key)

    for key, value in (overrides or {}).items():
        full_key = key if ":" in key else f"{namespace}:{key}"
        if value is None:
            config.pop(full_key, None)
            if full_key in secret_keys:
                secret_keys.remove(full_key)
        else:
            config[full_key] = as_config_string(value)
    return config, secret_keys
