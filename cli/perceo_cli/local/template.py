"""Read a SAM template the way the local cloud needs it: functions, their environment, and one REST API.

CloudFormation's short tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`, ...) load as their long forms, and a small
resolver evaluates the intrinsics against parameter values (template defaults, then overrides), the physical
ids of resources the local cloud provides (say, a moto secret's ARN for `ApiKeyPepperSecret`) and the
template's conditions. Only what a Lambda environment or an API definition uses is supported; anything else
is a `ConfigError` that names the template and the key path, not a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from perceo.errors import ConfigError

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
#: Marks a value that resolved to `AWS::NoValue`: the key holding it is dropped.
NO_VALUE = object()

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


# Our own tag constructor: samtranslator's pins pydantic below our lock's, and cfn-lint's costs ~5 s of imports.
class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
    """YAML loader that turns CloudFormation short tags into their long forms."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _SHORT_TAGS.get(tag_suffix, f"Fn::{tag_suffix}")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    """The template as plain data, short tags expanded. ConfigError when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the SAM template {path}: {error.strerror or error}") from None
    try:
        document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise ConfigError(f"{path} is not a SAM template: it has no Resources mapping")
    return document


@dataclass
class Intrinsics:
    """Evaluates CloudFormation intrinsic functions for one template."""

    template: Mapping[str, Any]
    source: Path
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: Physical ids (what `!Ref` returns) of resources the local cloud provides, by logical id.
    physical_ids: Mapping[str, str] = field(default_factory=dict)
    #: Attribute values (`!GetAtt X.Attr`) by "X.Attr"; function ARNs are made up when missing.
    attributes: Mapping[str, str] = field(default_factory=dict)
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT

    def __post_init__(self) -> None:
        self._values = self._parameter_values()
        self._conditions: dict[str, bool] = {}

    @property
    def resources(self) -> Mapping[str, Any]:
        resources = self.template.get("Resources")
        return resources if isinstance(resources, Mapping) else {}

    def _parameter_values(self) -> dict[str, str]:
        declared = self.template.get("Parameters") or {}
        unknown = sorted(set(self.parameters) - set(declared))
        if unknown:
            raise ConfigError(f"{self.source}: unknown template parameter(s) {', '.join(unknown)}")
        values: dict[str, str] = {}
        missing: list[str] = []
        for name, spec in declared.items():
            spec = spec if isinstance(spec, Mapping) else {}
            if name in self.parameters:
                value = str(self.parameters[name])
            elif "Default" in spec:
                default = spec["Default"]
                value = str(default).lower() if isinstance(default, bool) else str(default)
            else:
                missing.append(name)
                continue
            self._check_parameter(name, spec, value)
            values[name] = value
        if missing:
            raise ConfigError(f"{self.source}: template parameter(s) without a value: {', '.join(missing)}")
        return values

    def _check_parameter(self, name: str, spec: Mapping[str, Any], value: str) -> None:
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(v) for v in allowed]:
            raise ConfigError(
                f"{self.source}: parameter {name}={value!r} is not one of {', '.join(str(v) for v in allowed)}"
            )
        pattern = spec.get("AllowedPattern")
        if pattern is not None and spec.get("Type", "String") == "String" and not re.fullmatch(pattern, value):
            raise ConfigError(f"{self.source}: parameter {name}={value!r} does not match {pattern}")

    def parameter(self, name: str) -> str:
        return self._values[name]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise ConfigError(f"{self.source}: unknown condition {name}")
            self._conditions[name] = bool(self._condition_value(conditions[name], f"Conditions.{name}"))
        return self._conditions[name]

    def _condition_value(self, node: Any, where: str) -> bool:
        if isinstance(node, Mapping) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Condition":
                return self.condition(str(arg))
            if fn == "Fn::Equals":
                left, right = (self.resolve(v, where) for v in arg)
                return _flat(left) == _flat(right)
            if fn == "Fn::Not":
                return not self._condition_value(arg[0], where)
            if fn == "Fn::And":
                return all(self._condition_value(v, where) for v in arg)
            if fn == "Fn::Or":
                return any(self._condition_value(v, where) for v in arg)
        raise ConfigError(f"{self.source}: {where}: unsupported condition {node!r}")

    def resolve(self, node: Any, where: str) -> Any:
        """The value of `node` with every intrinsic evaluated (NO_VALUE for `AWS::NoValue`)."""
        if isinstance(node, list):
            items = (self.resolve(item, f"{where}[{i}]") for i, item in enumerate(node))
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, arg, where)
        resolved = {k: self.resolve(v, f"{where}.{k}") for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _function(self, name: str, arg: Any, where: str) -> Any:
        if name == "Ref":
            return self.ref(str(arg), where)
        if name == "Fn::Sub":
            return self._sub(arg, where)
        if name == "Fn::GetAtt":
            resource, attribute = (arg if isinstance(arg, list) else str(arg).split(".", 1))[:2]
            return self.get_att(str(resource), str(attribute), where)
        if name == "Fn::If":
            condition, if_true, if_false = arg
            return self.resolve(if_true if self.condition(str(condition)) else if_false, where)
        if name == "Fn::Join":
            separator, items = arg
            return str(separator).join(_flat(v) for v in self.resolve(items, where))
        if name == "Fn::Select":
            index, items = arg
            return self.resolve(items, where)[int(self.resolve(index, where))]
        if name == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text, where)).split(str(separator))
        if name == "Condition":
            return self.condition(str(arg))
        if name in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"}:
            return self._condition_value({name: arg}, where)
        raise ConfigError(f"{self.source}: {where}: the local cloud does not support {name}")

    def ref(self, name: str, where: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": "perceo-local",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self._values:
            declared = (self.template.get("Parameters") or {}).get(name) or {}
            value = self._values[name]
            if declared.get("Type") == "CommaDelimitedList":
                return [item for item in value.split(",")] if value else [""]
            return value
        if name in self.physical_ids:
            return self.physical_ids[name]
        if name in self.resources:
            return name  # a resource the local cloud does not provide: its logical id stands in
        raise ConfigError(f"{self.source}: {where}: !Ref {name} names no parameter or resource")

    def get_att(self, resource: str, attribute: str, where: str) -> str:
        key = f"{resource}.{attribute}"
        if key in self.attributes:
            return self.attributes[key]
        spec = self.resources.get(resource)
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{self.source}: {where}: !GetAtt {key} names no resource")
        if attribute == "Arn" and spec.get("Type") == "AWS::Serverless::Function":
            return function_arn(resource, region=self.region, account_id=self.account_id)
        if attribute == "Arn":
            return f"arn:aws:local:{self.region}:{self.account_id}:{resource}"
        raise ConfigError(f"{self.source}: {where}: the local cloud has no value for !GetAtt {key}")

    def _sub(self, arg: Any, where: str) -> str:
        if isinstance(arg, list):
            text, variables = str(arg[0]), {k: _flat(self.resolve(v, where)) for k, v in arg[1].items()}
        else:
            text, variables = str(arg), {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return variables[name]
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return self.get_att(resource, attribute, where)
            return _flat(self.ref(name, where))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _flat(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(_flat(v) for v in value)
    return "" if value is None else str(value)


def function_arn(logical_id: str, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT) -> str:
    """The made-up ARN a local function answers to."""
    return f"arn:aws:lambda:{region}:{account_id}:function:{logical_id}"


# ------------------------------------------------------------------------------------------------ functions


@dataclass(frozen=True)
class FunctionSpec:
    """One `AWS::Serverless::Function`: where its code is and how it runs."""

    logical_id: str
    function_name: str
    code_dir: Path
    #: `module.function`, e.g. `app.lambda_handler`; the module is a file under `code_dir`.
    handler: str
    environment: Mapping[str, str]
    timeout_s: float
    memory_mb: int

    @property
    def module_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def function_attribute(self) -> str:
        return self.handler.rpartition(".")[2]

    @property
    def arn(self) -> str:
        return function_arn(self.logical_id)


def read_functions(intrinsics: Intrinsics) -> dict[str, FunctionSpec]:
    """Every serverless function of the template, by logical id, with Globals applied and intrinsics resolved."""
    template = intrinsics.template
    root = intrinsics.source.parent
    globals_ = ((template.get("Globals") or {}).get("Function")) or {}
    functions: dict[str, FunctionSpec] = {}
    for logical_id, resource in intrinsics.resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        where = f"Resources.{logical_id}.Properties"
        props = resource.get("Properties") or {}
        code_uri = props.get("CodeUri", globals_.get("CodeUri"))
        handler = props.get("Handler", globals_.get("Handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
            raise ConfigError(f"{intrinsics.source}: {where}: the local cloud needs a CodeUri folder and a Handler")
        env: dict[str, str] = {}
        for layer, layer_where in ((globals_, "Globals.Function"), (props, where)):
            variables = ((layer.get("Environment") or {}).get("Variables")) or {}
            for name, value in variables.items():
                resolved = intrinsics.resolve(value, f"{layer_where}.Environment.Variables.{name}")
                if resolved is not NO_VALUE:
                    env[name] = _flat(resolved)
        name = intrinsics.resolve(props.get("FunctionName", logical_id), f"{where}.FunctionName")
        spec = FunctionSpec(
            logical_id=logical_id,
            function_name=_flat(name),
            code_dir=(root / code_uri).resolve(),
            handler=handler,
            environment=env,
            timeout_s=float(intrinsics.resolve(props.get("Timeout", globals_.get("Timeout", 3)), where)),
            memory_mb=int(intrinsics.resolve(props.get("MemorySize", globals_.get("MemorySize", 128)), where)),
        )
        if not spec.module_file.is_file():
            raise ConfigError(
                f"{intrinsics.source}: {where}: handler {handler} of {logical_id} needs {spec.module_file}, "
                "which does not exist"
            )
        functions[logical_id] = spec
    return functions
