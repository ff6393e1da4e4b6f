"""A model repository on many runners (issue 34): shards run as separate `pytest` processes (each
its own store), merged with `inferencecheck report merge`, against one unsharded run. The
quick level keeps it fast: it decides rows, breaks and export as the full level does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from repo_sources import MODELS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUICK = ("--inference-check", "--inference-check-level=quick", "-q", "-p", "no:cacheprovider")


def _repo(folder: Path, items: int = 20, targets: str = '"server-x86-python"') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mymodels.py").write_text(MODELS)
    body = ["import pytest, torch, mymodels\n"]
    for i in range(items):
        model = "Breaks" if i % 4 == 0 else "Clean"
        body.append(f'''
@pytest.mark.deploy_target({targets})
def test_m{i:02d}(inference_check):
    inference_check(mymodels.{model}(), (torch.randn(2, 4),), name="m{i:02d}")
''')
    body.append("\ndef test_plain():\n    assert True\n")
    (folder / "test_many.py").write_text("".join(body))
    return folder


def _run(folder: Path, report: str, *options: str, env: dict | None = None
         ) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *QUICK, f"--inference-check-json={report}", *options],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "INFERENCECHECK_CACHE_DIR": str(folder / f"store-{report}"),
             **(env or {})})


def _wait(procs: list[subprocess.Popen]) -> list[int]:
    codes = []
    for p in procs:
        p.communicate(timeout=600)
        codes.append(p.returncode)
    return codes


def _shards(folder: Path, count: int, *options: str, env: dict | None = None) -> list[int]:
    """Each shard in its own process with its own store, one after the other (side by side
    they would only crowd the other tests' cores)."""
    return [_wait([_run(folder, f"shard-{k}.json", f"--inference-check-shard={k}/{count}",
                        *options, env=env)])[0] for k in range(1, count + 1)]


def _merge(folder: Path, files: list[str], *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "report", "merge",
                           *files, *options], cwd=folder, capture_output=True, text=True,
                          timeout=300)


def _verdicts(report: Path) -> list[tuple]:
    """Everything a result decides, times aside, in report order."""
    out = []
    for r in json.loads(report.read_text())["results"]:
        breaks = [(b["type"], b["file"], b["line"])
                  for b in (r["graph_breaks"] or {}).get("breaks", [])]
        out.append((r["nodeid"], r["target"], r["outcome"], r["recommendation"]["row"],
                    breaks, r["deviation"], [(f["stage"], f["message"]) for f in r["failures"]],
                    (r["export"] or {}).get("ok")))
    return out


def test_merged_shards_equal_one_unsharded_run_for_any_count_and_any_order(tmp_path):
    folder = _repo(tmp_path / "repo", targets='"server-x86-python", "server-x86-cpp"')
    assert _wait([_run(folder, "all.json")]) == [1]  # the Breaks models fail server-x86-cpp
    whole = _verdicts(folder / "all.json")
    assert len(whole) == 40
    for count in (1, 2, 3, 4, 5):
        codes = _shards(folder, count)
        reports = [json.loads((folder / f"shard-{k}.json").read_text())["shard"]
                   for k in range(1, count + 1)]
        groups = [g for r in reports for g in r["groups"]]
        assert sorted(groups) == sorted(reports[0]["all_groups"]) and len(groups) == 21
        files = [f"shard-{k}.json" for k in range(1, count + 1)]
        for order in (files, files[::-1]):
            out = _merge(folder, order, "--json", "merged.json", "--junit", "m.xml",
                         "--html", "m.html")
            assert out.returncode == max(codes) == 1, out.stdout + out.stderr
            assert _verdicts(folder / "merged.json") == whole, count
            assert f"sharded: {count} shards, the slowest took" in out.stdout
        page = (folder / "m.html").read_text()
        assert f"{count} shards, the slowest took" in page


def test_the_baseline_is_judged_once_over_the_merged_run(tmp_path):
    """Exit codes equal an unsharded run's for a passing repository, a new break (the ratchet
    fails) and a fixed break (the ratchet tightens: the merged update equals the unsharded)."""
    folder = _repo(tmp_path / "repo", items=6)
    only_python = ("--inference-check-target=server-x86-python",)
    baseline = "--inference-check-baseline=baseline.json"
    two = {"DEMO_BREAKS": "2"}
    assert _wait([_run(folder, "b.json", *only_python, baseline,
                       "--inference-check-update-baseline")]) == [0]
    files = [f"shard-{k}.json" for k in (1, 2)]
    for env, expected in (({}, 0), (two, 1)):  # as recorded; a new break
        whole = _wait([_run(folder, "all.json", *only_python, baseline, env=env)])
        codes = _shards(folder, 2, *only_python, baseline, env=env)
        merged = _merge(folder, files, "--baseline", "baseline.json", "--json", "m.json")
        assert whole == [expected] and merged.returncode == expected, merged.stdout
        assert max(codes) == expected
        assert _verdicts(folder / "m.json") == _verdicts(folder / "all.json")
    assert _wait([_run(folder, "b.json", *only_python, baseline,
                       "--inference-check-update-baseline", env=two)]) == [0]
    accepted = (folder / "baseline.json").read_text()
    # a break fixed: both say the baseline can be tightened, and the ratchet tightens it alike
    assert _wait([_run(folder, "all.json", *only_python, baseline)]) == [0]
    _shards(folder, 2, *only_python, baseline)
    merged = _merge(folder, files, "--baseline", "baseline.json", "--json", "m.json")
    assert merged.returncode == 0 and "can be tightened" in (folder / "m.json").read_text()
    assert _wait([_run(folder, "all.json", *only_python, baseline,
                       "--inference-check-update-baseline")]) == [0]
    tightened = (folder / "baseline.json").read_text()
    assert tightened != accepted
    (folder / "baseline.json").write_text(accepted)
    merged = _merge(folder, files, "--baseline", "baseline.json", "--update-baseline")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert (folder / "baseline.json").read_text() == tightened


def test_a_missing_duplicated_or_foreign_shard_is_a_usage_error_naming_it(tmp_path):
    folder = _repo(tmp_path / "repo", items=4)
    assert max(_shards(folder, 3)) <= 1
    out = _merge(folder, ["shard-1.json", "shard-3.json"])
    assert out.returncode == 2 and "shard 2/3 is missing" in out.stderr, out.stderr
    shutil.copy(folder / "shard-1.json", folder / "copy.json")
    out = _merge(folder, ["shard-1.json", "copy.json", "shard-2.json", "shard-3.json"])
    assert out.returncode == 2 and "shard 1/3 is given twice: shard-1.json and copy.json" in \
        out.stderr, out.stderr
    for field, value, words in ((("shard", "run", "commit"), "0" * 40, "another commit"),
                                (("torch",), "2.12.0+cpu", "another torch"),
                                (("shard", "run", "settings"), "x" * 16,
                                 "another configuration")):
        data = json.loads((folder / "shard-2.json").read_text())
        node = data
        for part in field[:-1]:
            node = node[part]
        node[field[-1]] = value
        (folder / "other.json").write_text(json.dumps(data))
        out = _merge(folder, ["shard-1.json", "other.json", "shard-3.json"])
        assert out.returncode == 2 and f"other.json is a shard of {words}" in out.stderr, \
            out.stderr
    _wait([_run(folder, "plain.json")])
    out = _merge(folder, ["plain.json"])
    assert out.returncode == 2 and "plain.json is not a shard report" in out.stderr


def test_the_workflow_fans_out_and_its_merge_job_merges(tmp_path):
    """The reusable workflow's plan, matrix and merge job, run as Actions would run their
    shell (the merge step on real shard reports, its pip line aside)."""
    wf = yaml.safe_load((ROOT / ".github/workflows/inference-check.yml").read_text())
    assert wf[True]["workflow_call"]["inputs"]["shards"]["default"] == 1
    plan, check, merge = wf["jobs"]["plan"], wf["jobs"]["inference-check"], wf["jobs"]["merge"]
    assert check["needs"] == "plan" and check["strategy"]["fail-fast"] is False
    assert "needs.plan.outputs.shards" in check["strategy"]["matrix"]["shard"]
    assert merge["needs"] == "inference-check" and "always()" in merge["if"]
    script = plan["steps"][0]["run"]
    out = subprocess.run(["bash", "-eo", "pipefail", "-c", script], capture_output=True,
                         text=True, env={**os.environ, "SHARDS": "3",
                                         "GITHUB_OUTPUT": str(tmp_path / "out")})
    assert out.returncode == 0 and (tmp_path / "out").read_text().strip() == "shards=[1, 2, 3]"
    folder = _repo(tmp_path / "repo", items=4)
    _shards(folder, 2)
    for k in (1, 2):  # as download-artifact lays them out: one folder per artifact
        shard = folder / "inferencecheck-shards" / f"inferencecheck-reports-x-{k}"
        shard.mkdir(parents=True)
        shutil.copy(folder / f"shard-{k}.json", shard / "inferencecheck-report.json")
    step = next(s for s in merge["steps"] if s.get("name") == "Merge the shards")
    shell = "\n".join(line for line in step["run"].splitlines() if "pip install" not in line)
    out = subprocess.run(["bash", "-eo", "pipefail", "-c", shell.replace(
        "python -m", f"{sys.executable} -m")], cwd=folder, capture_output=True, text=True,
        env={**os.environ, "BASELINE": ""}, timeout=300)
    assert "merged 2 shards" in out.stdout, out.stdout + out.stderr
    for name in ("inferencecheck-report.json", "inferencecheck-junit.xml",
                 "inferencecheck-report.html"):
        assert (folder / name).exists()


def test_the_shipped_examples_sharded_merge_to_the_unsharded_run(tmp_path):
    """The examples, config-declared models included (a declared model is one item)."""
    folder = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", folder)
    codes = _wait([_run(folder, "all.json")]) + _shards(folder, 2)
    out = _merge(folder, ["shard-2.json", "shard-1.json"], "--json", "merged.json")
    assert out.returncode == max(codes[1:]) == codes[0], out.stdout + out.stderr
    assert _verdicts(folder / "merged.json") == _verdicts(folder / "all.json")
    groups = [g for k in (1, 2) for g in json.loads(
        (folder / f"shard-{k}.json").read_text())["shard"]["groups"]]
    assert any(g.startswith("pyproject.toml::") for g in groups), groups
