"""Validate haven.v1 frames against proto/schema (JSON Schema draft 2020-12).

Used by the integration tests:

    from protocol import validate_server_frame, validate_client_frame
    validate_server_frame(json.loads(text))   # AssertionError if invalid

The schemas are loaded once, from the repository's proto/schema, found
relative to this file. References are resolved from those files only; nothing
is fetched from the network (the schemas' $id host, haven.invalid, is a
reserved name that never resolves). Works with python3-jsonschema 4.10
(Debian 12), which has RefResolver but not the newer `referencing` package.
"""

import json
import os
import threading

import jsonschema

SCHEMA_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto", "schema"))
BASE_URI = "https://haven.invalid/proto/schema/"

_lock = threading.Lock()
_loaded = None


class _Schemas:
    def __init__(self, directory):
        self.by_rel = {}      # "server/ack.json" -> schema
        store = {}
        for root, _dirs, files in os.walk(directory):
            for fn in sorted(files):
                if not fn.endswith(".json"):
                    continue
                path = os.path.join(root, fn)
                rel = os.path.relpath(path, directory).replace(os.sep, "/")
                with open(path, encoding="utf-8") as f:
                    schema = json.load(f)
                expected = BASE_URI + rel
                if schema.get("$id") != expected:
                    raise RuntimeError(f"{path}: $id is {schema.get('$id')!r}, expected {expected!r}")
                self.by_rel[rel] = schema
                store[expected] = schema
        self.store = store
        self.validators = {}
        for rel, schema in self.by_rel.items():
            resolver = jsonschema.RefResolver(base_uri=schema["$id"], referrer=schema, store=store)
            self.validators[rel] = jsonschema.Draft202012Validator(schema, resolver=resolver)

    def frame_types(self, direction):
        prefix = direction + "/"
        return sorted(rel[len(prefix):-len(".json")]
                      for rel in self.by_rel if rel.startswith(prefix))


def schemas():
    """The loaded schema set (loaded on first use, then cached)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _Schemas(SCHEMA_DIR)
        return _loaded


def validator(rel):
    """The Draft202012Validator for one schema file, e.g. validator("server/ack.json")."""
    return schemas().validators[rel]


def _path(error):
    return "/" + "/".join(str(p) for p in error.absolute_path)


def _describe(error):
    # A message quoting a long string instance is hard to read; cut it.
    msg = error.message
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return f"at {_path(error)}: {msg}"


def _validate(direction, obj):
    s = schemas()
    if not isinstance(obj, dict):
        raise AssertionError(f"{direction} frame is not a JSON object: {obj!r:.200}")
    ftype = obj.get("type")
    if not isinstance(ftype, str):
        raise AssertionError(f"{direction} frame has no string \"type\": {obj!r:.200}")
    rel = f"{direction}/{ftype}.json"
    if rel not in s.validators:
        raise AssertionError(
            f"unknown {direction} frame type {ftype!r} (known: {', '.join(s.frame_types(direction))})")
    # Validate against the frame's own schema first: its errors name the
    # failing path, where the oneOf in client.json/server.json would only say
    # "not valid under any of the given schemas".
    errors = sorted(s.validators[rel].iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n  ".join(_describe(e) for e in errors[:10])
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise AssertionError(f"invalid {direction} frame {ftype!r}:\n  {lines}{more}")
    # The union must agree (catches a frame schema missing from the oneOf).
    union = s.validators[f"{direction}.json"]
    if not union.is_valid(obj):
        raise AssertionError(
            f"{direction} frame {ftype!r} is valid against {rel} but not against {direction}.json")
    return obj


def validate_server_frame(obj):
    """Assert that obj (a decoded JSON value) is a valid haven.v1 server frame; returns obj."""
    return _validate("server", obj)


def validate_client_frame(obj):
    """Assert that obj (a decoded JSON value) is a valid haven.v1 client frame; returns obj."""
    return _validate("client", obj)
