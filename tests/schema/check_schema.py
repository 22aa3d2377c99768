#!/usr/bin/python3
"""The config's JSON Schema against the loader, with an independent validator.

   tests/schema/check_schema.py PATH/TO/pollbridge SOURCE_DIR

ctest runs it (ConfigSchema.*, label "integration"; CMakeLists.txt). It takes
the schema from `pollbridge --print-schema` and checks, with Debian's
python3-jsonschema (Draft202012Validator) and python3-yaml:

  1. the schema is a valid draft 2020-12 schema;
  2. every config of the repository validates: config/, packaging/,
     examples/ (the Kubernetes ConfigMap's embedded file too), the whole
     configs among the ```yaml blocks of README.md and docs/ (the partial
     ones against the part of the schema they show: a top-level map without
     streams, a list of stream entries), and is accepted by
     `pollbridge --check` (with the environment variables they name set);
  3. every seed of tests/fuzz/corpus/config_file that `pollbridge --check`
     accepts validates too (loader valid => schema valid);
  4. each broken config below is refused by both the schema and
     `pollbridge --check`.

Prints one line per check ("ok - ..." / "FAIL - ...") and exits 1 on any
failure.
"""
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover
    sys.exit(f"FAIL - {e}: install python3-jsonschema and python3-yaml (scripts/deps.sh test)")

BINARY, SOURCE = sys.argv[1], sys.argv[2]
# What the configs' ${VAR} references need to pass --check.
ENV = dict(os.environ, PB_ADMIN_TOKEN="admin-token-0123456789", TOKEN="token-0123456789abcdef",
           LEGACY_TOKEN="legacy-token-0123456789", HOST="127.0.0.1", PORT="8080",
           PB_JWT_SECRET="s" * 64, PB_READ_TOKEN="read-token-0123456789abcdef")

failed = 0


def report(good, what, detail=""):
    global failed
    if good:
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"FAIL - {what}{': ' + detail if detail else ''}")


def errors(validator, document):
    return ["/".join(map(str, e.absolute_path)) + ": " + e.message[:160]
            for e in validator.iter_errors(document)]


def loader_accepts(text):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
        name = f.name
    try:
        run = subprocess.run([BINARY, "--check", "--config", name], env=ENV, capture_output=True,
                             text=True, timeout=60, cwd=SOURCE)
        return run.returncode == 0, (run.stderr or run.stdout).strip().splitlines()[:3]
    finally:
        os.unlink(name)


schema = json.loads(subprocess.run([BINARY, "--print-schema"], check=True, capture_output=True,
                                   text=True).stdout)
try:
    jsonschema.Draft202012Validator.check_schema(schema)
    report(True, "the schema is a valid draft 2020-12 schema")
except jsonschema.exceptions.SchemaError as e:
    report(False, "the schema is a valid draft 2020-12 schema", str(e)[:300])
full = jsonschema.Draft202012Validator(schema)
# A top-level part without streams, and one stream entry.
part_schema = copy.deepcopy(schema)
part_schema["required"] = []
part = jsonschema.Draft202012Validator(part_schema)
entry_schema = copy.deepcopy(schema["properties"]["streams"]["items"])
entry_schema["$defs"] = schema["$defs"]
entry = jsonschema.Draft202012Validator(entry_schema)

# ------------------------------------------------ the repository's configs
configs = []  # (name, text)
for pattern in ("config/*.yaml", "packaging/*.yaml", "examples/*.yaml", "examples/*/*.yaml"):
    for path in sorted(glob.glob(os.path.join(SOURCE, pattern))):
        with open(path) as f:
            text = f.read()
        rel = os.path.relpath(path, SOURCE)
        document = yaml.safe_load(text)
        if isinstance(document, dict) and document.get("kind") == "ConfigMap":
            for key, value in document.get("data", {}).items():
                if key.endswith(".yaml"):
                    configs.append((f"{rel} ({key})", value))
        elif isinstance(document, dict) and "apiVersion" not in document:
            configs.append((rel, text))
for name, text in configs:
    problems = errors(full, yaml.safe_load(text))
    report(not problems, f"{name} validates against the schema", "; ".join(problems[:3]))
    ok, why = loader_accepts(text)
    report(ok, f"{name} passes pollbridge --check", " / ".join(why))
report(len(configs) >= 6, f"found the repository's configs ({len(configs)})")

blocks = 0
for path in [os.path.join(SOURCE, "README.md")] + sorted(glob.glob(os.path.join(SOURCE, "docs/*.md"))):
    with open(path) as f:
        text = f.read()
    for i, m in enumerate(re.finditer(r"```yaml\n(.*?)```", text, re.S)):
        document = yaml.safe_load(m.group(1))
        where = f"{os.path.relpath(path, SOURCE)} yaml block {i + 1}"
        if isinstance(document, dict) and "streams" in document:
            blocks += 1
            problems = errors(full, document)
            report(not problems, f"{where} (a whole config) validates", "; ".join(problems[:3]))
        elif isinstance(document, dict):
            blocks += 1
            problems = errors(part, document)
            report(not problems, f"{where} (top-level keys) validates", "; ".join(problems[:3]))
        elif isinstance(document, list) and all(isinstance(e, dict) and "name" in e and "url" in e
                                                for e in document):
            blocks += 1
            problems = [p for e in document for p in errors(entry, e)]
            report(not problems, f"{where} (stream entries) validates", "; ".join(problems[:3]))
report(blocks >= 10, f"found the docs' config blocks ({blocks})")

# ------------------------------------- fuzz seeds: loader valid => schema valid
for path in sorted(glob.glob(os.path.join(SOURCE, "tests/fuzz/corpus/config_file/*.yaml"))):
    with open(path) as f:
        text = f.read()
    ok, _ = loader_accepts(text)
    if not ok:
        continue
    problems = errors(full, yaml.safe_load(text))
    report(not problems, f"{os.path.relpath(path, SOURCE)} (accepted by the loader) validates",
           "; ".join(problems[:3]))

# ------------------------------------------------ broken: refused by both
BASE = """server:
  listen: 127.0.0.1:0
state:
  dir: ""
streams:
  - name: orders
    url: http://127.0.0.1:9/orders
"""
ok, why = loader_accepts(BASE)
report(ok and not errors(full, yaml.safe_load(BASE)), "the base of the broken configs is valid",
       " / ".join(why))
# What the loader accepts beyond the plain forms: the schema must too.
VALID = {
    "${VAR} in typed keys": "history: ${PB_HISTORY:-500}\nlog:\n  level: ${PB_LEVEL:-warn}\n" + BASE
    + "    interval: ${PB_INTERVAL:-2s}\n    tls_verify: ${PB_VERIFY:-true}\n",
    "yes/no/on/off booleans in any case": BASE + "    tls_verify: Yes\n    persist: OFF\n",
    "a quoted integer": BASE + "history: \"500\"\n",
    "values in another case": BASE + "    method: post\n    body: \"{}\"\n    diff: Snapshot\n",
    "numbers and booleans where text is read": BASE + "    headers:\n      X-Version: 2\n"
    "      X-Debug: true\n",
    "one string for a string-or-list key": BASE.replace("server:\n", "server:\n  cors_origins: \"*\"\n"),
    "sizes and durations in every unit": "history_bytes: 1 MiB\n" + BASE + "    max_body: 4096\n"
    "    interval: 1m30s\n    timeout: 1500ms\n    backoff_max: 1h\n",
    "anchors and aliases": BASE + "  - &second\n    name: other\n    url: http://127.0.0.1:9/other\n"
    "    headers: &h {Accept: application/json}\n  - name: third\n    url: http://127.0.0.1:9/third\n"
    "    headers: *h\n",
    "an IPv6 listen address": BASE.replace("127.0.0.1:0", "\"[::1]:0\""),
}
for what, text in VALID.items():
    problems = errors(full, yaml.safe_load(text))
    ok, why = loader_accepts(text)
    report(ok and not problems, f"valid ({what}): accepted by the schema and the loader",
           f"schema: {'; '.join(problems[:2]) or 'accepts'}; loader: {' / '.join(why) or 'accepts'}")

BROKEN = {
    "unknown top-level key": BASE + "histroy: 10\n",
    "unknown server key": BASE.replace("server:\n", "server:\n  heartbeats: 15s\n"),
    "unknown stream key": BASE + "    intervall: 2s\n",
    "unknown key in a stream's csv": BASE + "    parse: csv\n    csv:\n      separator: \";\"\n",
    "integer key given text": BASE + "history: lots\n",
    "integer out of range": BASE + "history: 0\n",
    "map given a list": BASE.replace("state:\n  dir: \"\"\n", "state: [memory]\n"),
    "string given a map": BASE + "    method: {GET: 1}\n",
    "value not among the allowed": BASE + "    diff: rfc6902\n",
    "log level not among the allowed": BASE + "log:\n  level: verbose\n",
    "duration without a unit": BASE + "    interval: 5\n",
    "duration with a fraction": BASE + "    interval: 1.5s\n",
    "duration units out of order": BASE + "    interval: 30s1m\n",
    "size with an unknown unit": BASE + "history_bytes: 64MB2\n",
    "boolean given another word": BASE + "    tls_verify: maybe\n",
    "list-only key given one string": BASE + "    ignore: /updatedAt\n",
    "compression coding unknown": BASE.replace("server:\n", "server:\n  compression: [br]\n"),
    "missing streams": BASE.split("streams:")[0],
    "stream without url": BASE.replace("    url: http://127.0.0.1:9/orders\n", ""),
    "empty streams list": BASE.split("streams:")[0] + "streams: []\n",
    "listen without a port": BASE.replace("127.0.0.1:0", "127.0.0.1"),
}
for what, text in BROKEN.items():
    document = yaml.safe_load(text)
    schema_refuses = bool(errors(full, document))
    loader_refuses = not loader_accepts(text)[0]
    report(schema_refuses and loader_refuses, f"broken ({what}): refused by the schema and the loader",
           f"schema {'refuses' if schema_refuses else 'ACCEPTS'}, "
           f"loader {'refuses' if loader_refuses else 'ACCEPTS'}")

print(f"{'FAILED' if failed else 'passed'}: {failed} failure(s)")
sys.exit(1 if failed else 0)
