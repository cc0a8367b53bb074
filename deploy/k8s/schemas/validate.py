#!/usr/bin/python3
"""Validate every document of Kubernetes manifests against the strict schema of its kind.

usage: validate.py SCHEMA_DIR FILE.yaml...   (Debian: python3-jsonschema, python3-yaml)

Each document needs a schema in SCHEMA_DIR named as kubeconform names them (configmap-v1.json,
daemonset-apps-v1.json): a kind without one is an error, not a skip. Prints one line per
document, "ok FILE KIND/NAME" or "invalid FILE KIND/NAME: PATH: MESSAGE" per error; exits 1 if
any document is invalid.
"""
import json
import os
import sys

import jsonschema
import yaml


def schema_file(doc):
    group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
    kind = str(doc.get("kind", "")).lower()
    return f"{kind}-{group.split('.')[0]}-{version}.json" if group else f"{kind}-{version}.json"


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schemas, bad = argv[1], 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in docs:
            what = f"{path} {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
            file = os.path.join(schemas, schema_file(doc))
            if not os.path.exists(file):
                print(f"invalid {what}: no schema {file}")
                bad += 1
                continue
            with open(file, encoding="utf-8") as f:
                schema = json.load(f)
            validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
            for e in errors:
                print(f"invalid {what}: /{'/'.join(str(p) for p in e.absolute_path)}: {e.message}")
            bad += 1 if errors else 0
            if not errors:
                print(f"ok {what}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
