"""Checks lakectl's JSON outputs against AWS's own service models (botocore's, from PyPI).

Reads a JSON list of {"service", "operation", "output"} on stdin, where service is the AWS
CLI's name (s3api, kms, ...) and operation the CLI's (describe-key), and prints one JSON
line per violation: {"command", "path", "problem"}. A member lakectl adds is allowed only
under "Lakectl" (the one place the product says more than AWS does)."""
import datetime, json, sys

import botocore.session
from botocore import xform_name

session = botocore.session.get_session()
SERVICES = {"s3api": "s3"}


def operation_model(service, operation):
    model = session.get_service_model(SERVICES.get(service, service))
    for name in model.operation_names:
        if xform_name(name).replace("_", "-") == operation:
            return model.operation_model(name)
    raise SystemExit(f"{service} has no operation {operation} in botocore's model")


def is_timestamp(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    if isinstance(value, str):
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return True
        except ValueError:
            return False
    return False


def check(shape, value, path, out):
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            out.append((path, f"expected a structure {shape.name}, got {type(value).__name__}"))
            return
        members = shape.members
        for name, item in value.items():
            if name == "Lakectl":
                continue
            if name not in members:
                near = [m for m in members if m.lower() == name.lower()]
                hint = f" (AWS spells it {near[0]})" if near else ""
                out.append((f"{path}.{name}", f"not a member of {shape.name}{hint}"))
                continue
            check(members[name], item, f"{path}.{name}", out)
        for name in shape.required_members:
            if name not in value:
                out.append((f"{path}.{name}", f"required by {shape.name}, missing"))
    elif kind == "list":
        if not isinstance(value, list):
            out.append((path, f"expected a list, got {type(value).__name__}"))
            return
        for i, item in enumerate(value):
            check(shape.member, item, f"{path}[]", out)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append((path, f"expected a map, got {type(value).__name__}"))
            return
        for key, item in value.items():
            check(shape.value, item, f"{path}{{}}", out)
    elif kind == "string":
        if not isinstance(value, str):
            out.append((path, f"expected a string, got {type(value).__name__}"))
        elif shape.enum and value not in shape.enum:
            out.append((path, f"{value!r} is not one of {shape.name}'s values"))
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            out.append((path, f"expected an integer, got {type(value).__name__}"))
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            out.append((path, f"expected a number, got {type(value).__name__}"))
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append((path, f"expected a boolean, got {type(value).__name__}"))
    elif kind == "timestamp":
        if not is_timestamp(value):
            out.append((path, f"expected a timestamp, got {value!r}"))
    elif kind == "blob":
        if not isinstance(value, str):
            out.append((path, f"expected base64 text, got {type(value).__name__}"))


for case in json.load(sys.stdin):
    op = operation_model(case["service"], case["operation"])
    problems = []
    if op.output_shape is None:
        if case["output"] not in (None, {}):
            problems.append(("", "AWS answers nothing here"))
    else:
        check(op.output_shape, case["output"], "", problems)
    # A list's items are one path ([]), a map's values another ({}): each problem once.
    for path, problem in dict.fromkeys(problems):
        print(json.dumps({"command": f'{case["service"]} {case["operation"]}', "path": path or ".", "problem": problem}))
