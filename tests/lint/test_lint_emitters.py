"""Every lint output format, as a snapshot (ruff's way), from one result that holds findings
and a file that cannot be parsed; SARIF checked against the 2.1.0 schema's rules with the
`uri-reference` format; fingerprints that survive unrelated edits.

Regenerate the snapshots after an intended change with
`INFERENCECHECK_UPDATE_SNAPSHOTS=1 python -m pytest tests/lint/test_lint_emitters.py`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from pytest_inferencecheck import __version__
from pytest_inferencecheck.lint.config import LintConfig
from pytest_inferencecheck.lint.emitters import EMITTERS
from pytest_inferencecheck.lint.engine import lint_paths

HERE = Path(__file__).parent / "snapshots"
INPUT = HERE / "input"


@pytest.fixture(scope="module")
def result():
    return lint_paths([str(INPUT)], LintConfig(select=("ALL",)), root=INPUT)


@pytest.mark.parametrize("fmt", sorted(EMITTERS))
def test_snapshot(fmt, result, monkeypatch):
    monkeypatch.chdir(INPUT)  # text output names files from the current folder, as ruff's
    out = EMITTERS[fmt](result).replace(f'"version": "{__version__}"', '"version": "<version>"')
    snapshot = HERE / f"{fmt}.snap"
    if os.environ.get("INFERENCECHECK_UPDATE_SNAPSHOTS"):
        snapshot.write_text(out)
    assert out == snapshot.read_text(), f"{fmt} output changed; see the module docstring"
    assert "broken.py" in out  # the file that cannot be parsed is in every format


def sarif_schema() -> dict:
    """The SARIF 2.1.0 rules for every object this emitter writes: required properties,
    types, enums, `additionalProperties: false`, and `format: uri-reference` for URIs, as
    the OASIS schema (sarif-schema-2.1.0.json) states them. The full OASIS file is used
    instead when INFERENCECHECK_SARIF_SCHEMA names a copy of it."""
    if os.environ.get("INFERENCECHECK_SARIF_SCHEMA"):
        return json.loads(Path(os.environ["INFERENCECHECK_SARIF_SCHEMA"]).read_text())
    closed = lambda props, required=(): {  # noqa: E731
        "type": "object", "additionalProperties": False, "properties": props,
        "required": list(required)}
    text = {"type": "string"}
    message = closed({"text": text, "markdown": text})
    level = {"enum": ["none", "note", "warning", "error"]}
    pos = {"type": "integer", "minimum": 1}
    region = closed({"startLine": pos, "startColumn": pos, "endLine": pos, "endColumn": pos})
    region["anyOf"] = [{"required": ["startLine"]}, {"required": ["charOffset"]},
                       {"required": ["byteOffset"]}]
    artifact = closed({"uri": {"type": "string", "format": "uri-reference"},
                       "uriBaseId": text, "index": {"type": "integer", "minimum": -1}})
    location = closed({"physicalLocation": closed({"artifactLocation": artifact,
                                                   "region": region})})
    rule = closed({"id": text, "name": text, "shortDescription": message,
                   "fullDescription": message, "help": message,
                   "helpUri": {"type": "string", "format": "uri"},
                   "defaultConfiguration": closed({"level": level,
                                                   "enabled": {"type": "boolean"}}),
                   "properties": {"type": "object"}}, ["id"])
    result = closed({"ruleId": text, "ruleIndex": {"type": "integer", "minimum": -1},
                     "level": level, "message": message,
                     "locations": {"type": "array", "items": location},
                     "partialFingerprints": {"type": "object",
                                             "additionalProperties": text}}, ["message"])
    notification = closed({"level": level, "message": message,
                           "locations": {"type": "array", "items": location}}, ["message"])
    run = closed({
        "tool": closed({"driver": closed({"name": text, "version": text,
                                          "informationUri": {"type": "string",
                                                             "format": "uri"},
                                          "rules": {"type": "array", "items": rule}},
                                         ["name"])}, ["driver"]),
        "results": {"type": "array", "items": result},
        "invocations": {"type": "array", "items": closed({
            "executionSuccessful": {"type": "boolean"},
            "toolExecutionNotifications": {"type": "array", "items": notification}},
            ["executionSuccessful"])}}, ["tool"])
    return closed({"$schema": {"type": "string", "format": "uri"},
                   "version": {"enum": ["2.1.0"]},
                   "runs": {"type": "array", "items": run}}, ["version", "runs"])


def validate_sarif(log: dict) -> None:
    import jsonschema

    checker = jsonschema.FormatChecker()  # every format, uri-reference too (draft 4 has none)
    assert "uri-reference" in checker.checkers, "install rfc3986-validator (the test extra)"
    jsonschema.Draft4Validator(sarif_schema(), format_checker=checker).validate(log)


def test_sarif_validates_and_encodes_odd_paths(tmp_path):
    odd = tmp_path / "src" / "odd dir"
    odd.mkdir(parents=True)
    (odd / "a,b:c.py").write_text("import torch\ntorch.jit.load('m.pt')\n")
    (tmp_path / "ab:c.py").write_text("import torch\ntorch.jit.load('m.pt')\n")
    (tmp_path / "ü.py").write_text("import torch\ntorch.jit.load('m.pt')\n")
    log = json.loads(EMITTERS["sarif"](lint_paths([str(tmp_path)], LintConfig(),
                                                  root=tmp_path)))
    validate_sarif(log)
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                  for r in log["runs"][0]["results"])
    assert uris == sorted(["ab%3Ac.py", "src/odd%20dir/a%2Cb%3Ac.py", "%C3%BC.py"])
    for uri in uris:
        assert urlsplit(uri).scheme == ""  # a relative reference, never `ab:` as a scheme
    assert {unquote(u) for u in uris} == {"ab:c.py", "src/odd dir/a,b:c.py", "ü.py"}


def test_sarif_of_the_snapshot_input_validates(result):
    validate_sarif(json.loads(EMITTERS["sarif"](result)))


def fingerprints(root: Path) -> dict[tuple[str, str], list[str]]:
    log = json.loads(EMITTERS["sarif"](lint_paths([str(root)], LintConfig(), root=root)))
    out: dict[tuple[str, str], list[str]] = {}
    for r in log["runs"][0]["results"]:
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        out.setdefault((uri, r["ruleId"]), []).append(
            r["partialFingerprints"]["inferencecheckFingerprint/v1"])
    return out


def test_fingerprints_survive_unrelated_edits(tmp_path):
    body = "import torch\na = torch.jit.load('a.pt')\nb = torch.jit.load('a.pt')\n" \
           "c = torch.jit.script(m)\n"
    (tmp_path / "m.py").write_text(body)
    before = fingerprints(tmp_path)
    assert len(set(before[("m.py", "IC104")])) == 2  # identical lines stay distinct
    (tmp_path / "m.py").write_text("# a new header\n\n\nimport os\n" + body.replace(
        "c = torch", "c  =  torch"))  # lines moved, whitespace changed
    assert fingerprints(tmp_path) == before
    (tmp_path / "m.py").write_text(body.replace("script(m)", "script(other)"))
    after = fingerprints(tmp_path)
    assert after[("m.py", "IC104")] == before[("m.py", "IC104")]
    assert after[("m.py", "IC101")] != before[("m.py", "IC101")]  # the flagged line changed


def test_junit_validates_against_junit_10_xsd(result):
    import xmlschema

    schema = xmlschema.XMLSchema(str(Path(__file__).resolve().parents[1] / "junit-10.xsd"))
    schema.validate(EMITTERS["junit"](result))
