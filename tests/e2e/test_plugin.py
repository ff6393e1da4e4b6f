"""The pytest surface, with pytester: marker, fixture, options, settings sources, summary, errors.

Most checks here use the `mac` target (row 8, eager) so they test the plugin, not the compilers;
the compiled paths are covered by the check() tests and by the examples run.
"""

from __future__ import annotations

import json

import pytest

from repo_sources import MODELS, line_of

BREAK_LINE = line_of("# break one")


@pytest.fixture
def repo(pytester):
    """A tiny model repository with a models module."""
    pytester.makepyfile(mymodels=MODELS)
    pytester.syspathinsert()
    return pytester


def test_marked_tests_are_skipped_without_the_flag(repo):
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac", "mac-mps")
        def test_clean(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
        def test_plain():
            pass
    ''')
    result = repo.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)  # the alias collapses onto one target
    result.stdout.fnmatch_lines(["*inference checks are off: run with --inference-check "
                                 "(or INFERENCECHECK=1)*"])


def test_one_item_per_target_and_the_check_runs(repo):
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac", "embedded")
        def test_clean(inference_check, inference_check_target):
            result = inference_check(mymodels.Clean(), (torch.ones(2, 4),))
            assert result.target == inference_check_target
    ''')
    result = repo.runpytest("--inference-check", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_m.py::test_clean[mac]", "test_m.py::test_clean[edge]"])
    result = repo.runpytest("--inference-check", "--inference-check-target=mac")
    result.assert_outcomes(passed=1, deselected=1)


@pytest.mark.parametrize("env, config, args, runs", [
    ({"INFERENCECHECK": "1"}, "", [], True),
    ({"INFERENCECHECK": "off"}, "enabled = true", [], False),
    ({}, "enabled = true", [], True),
    ({}, "enabled = true", ["--no-inference-check"], False),
    ({"INFERENCECHECK": "0"}, "", ["--inference-check"], True),
])
def test_switch_precedence_command_line_then_environment_then_config(
        repo, monkeypatch, env, config, args, runs):
    monkeypatch.delenv("INFERENCECHECK", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    repo.makepyprojecttoml(f"[tool.inferencecheck]\n{config}\n")
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac")
        def test_clean(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
    ''')
    repo.runpytest(*args).assert_outcomes(**({"passed": 1} if runs else {"skipped": 1}))


def test_a_bad_switch_value_names_its_source(repo, monkeypatch):
    monkeypatch.setenv("INFERENCECHECK", "maybe")
    result = repo.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*enabled='maybe' from environment variable INFERENCECHECK: "
                                 "must be true or false*"])


def test_only_deselects_everything_else(repo):
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac")
        def test_clean(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
        def test_plain():
            pass
    ''')
    repo.runpytest("--inference-check", "--inference-check-only").assert_outcomes(
        passed=1, deselected=1)


def test_unknown_target_on_the_command_line(repo):
    result = repo.runpytest("--inference-check-target=mobile-andriod")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown deployment target 'mobile-andriod'. Did you mean "
                                 "'mobile-android'?*from command line --inference-check-target*"])


@pytest.mark.parametrize("args", [
    ["--inference-check-target="],  # an empty value (a CI variable that was never set)
    ["--inference-check-target= , "],
])
def test_a_target_option_that_names_no_target_is_a_usage_error(repo, args):
    # Issue 19: an empty --inference-check-target= silently checked every target.
    result = repo.runpytest("--inference-check", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*from command line --inference-check-target names no target; "
                                 "name at least one (valid: mobile-ios*), or leave it out*"])


@pytest.mark.parametrize("mark, message", [
    ('"server-x86-pthon"', "*unknown deployment target 'server-x86-pthon'. "
                           "Did you mean 'server-x86-python'?*"),
    ('"mac", atoll=1e-3', "*unknown option 'atoll' (did you mean 'atol'?) from "
                          "@pytest.mark.deploy_target on test_m.py::test_x*"),
    ('"mac", atol="big"', "*atol='big' from @pytest.mark.deploy_target on test_m.py::test_x: "
                          "must be a finite number >= 0*"),
    ('"mac", uses="tensorrt"', "*unknown technology 'tensorrt'*Valid technologies*"),
    ("", "*needs at least one target; valid targets: mobile-ios*"),
])
def test_bad_markers_are_collection_errors_that_list_what_is_valid(repo, mark, message):
    repo.makepyfile(test_m=f'''
        import pytest
        @pytest.mark.deploy_target({mark})
        def test_x(inference_check):
            pass
    ''')
    result = repo.runpytest("--inference-check")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    result.stdout.no_fnmatch_line("*pytest_inferencecheck/*.py*")  # no traceback of ours


def test_a_marked_test_that_never_calls_the_fixture_fails(repo):
    repo.makepyfile(test_m='''
        import pytest
        @pytest.mark.deploy_target("mac")
        def test_forgot(inference_check):
            pass
    ''')
    result = repo.runpytest("--inference-check")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_forgot[[]mac[]] is marked @pytest.mark.deploy_target but "
                                 "never called inference_check(model, example_inputs)*"])


def test_the_fixture_needs_the_marker(repo):
    repo.makepyfile(test_m='''
        def test_unmarked(inference_check):
            pass
    ''')
    result = repo.runpytest("--inference-check")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the inference_check fixture needs "
                                 "@pytest.mark.deploy_target(...)*"])


def test_bad_arguments_to_the_fixture_are_reported(repo):
    repo.makepyfile(test_m='''
        import pytest, mymodels
        @pytest.mark.deploy_target("mac")
        def test_x(inference_check):
            inference_check(mymodels.Clean(), [1, 2])
    ''')
    result = repo.runpytest("--inference-check")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*example_inputs must be a tuple*got list*"])


def test_a_failure_tells_the_whole_story(repo):
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("server-x86-cpp")
        def test_breaks(inference_check):
            inference_check(mymodels.Breaks(), (torch.ones(3),))
    ''')
    result = repo.runpytest("--inference-check")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*Breaks on server-x86-cpp: row 6 -> aoti-cpp: FAILED*",
        f"*FAILED (row 6, stage graph_breaks) at mymodels.py:{BREAK_LINE}*no fallback*",
        f"*mymodels.py:{BREAK_LINE} in forward: [[]GB0170[]] Data-dependent branching*",
        "*what to do:*",
    ])
    result.stdout.no_fnmatch_line("*torch.__trace*")  # no torch log noise in the report


def test_deviations_warn_and_fail_under_strict(repo):
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac", uses="aoti-python")
        def test_x(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
    ''')
    result = repo.runpytest("--inference-check")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*test_m.py:2: DeploymentDeviation: *declared 'aoti-python' "
                                 "but row 8*"])
    result = repo.runpytest("--inference-check", "--inference-check-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*: FAILED", "*FAILED (row 8, stage deviation) at test_m.py:2: "
                                 "declared *aoti-python* but row 8*(this fails under "
                                 "--inference-check-strict)*"])
    repo.makepyprojecttoml("[tool.inferencecheck]\nstrict = true\n")
    repo.runpytest("--inference-check").assert_outcomes(failed=1)
    repo.runpytest("--inference-check", "--no-inference-check-strict").assert_outcomes(passed=1)


def test_require_device_fails_a_proxy(repo):
    from pytest_inferencecheck.host.devices import host_has

    if host_has("mps"):  # pragma: no cover - an Apple host has the device
        pytest.skip("mac is not a proxy on this host")
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac")
        def test_x(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
    ''')
    result = repo.runpytest("--inference-check", "--inference-check-require-device")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*mac needs a mps device and this host has none*"])


def test_verbose_prints_a_line_per_stage_and_the_summary(repo):
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac", "server-x86-cpp")
        def test_breaks(inference_check):
            inference_check(mymodels.Breaks(), (torch.ones(3),), name="breaky")
    ''')
    result = repo.runpytest("--inference-check", "-v")
    result.stdout.fnmatch_lines([
        "*[[]mac[]] eager *passed*s  ran twice*",
        "*[[]mac[]] graph_breaks *passed*1 break, 2 graphs*",
        "*= inference check =*",
        "model*target*row*technology*breaks*export*parity*time*outcome",
        "breaky*mac (proxy)*8*eager*1*1 issue*0.0e+00*passed",
        "breaky*server-x86-cpp*6*aoti-cpp*1*1 issue*-*failed",
        "graph breaks by location:",
        f"*mymodels.py:{BREAK_LINE} in forward*[[]GB0170[]]*",
        "*-> replace the Python `if`*(breaky@mac, breaky@server-x86-cpp)",
    ])


CONFIG_FACTORY = '''
import torch, mymodels
def clean_with_inputs():
    return mymodels.Clean(), (torch.ones(2, 4),)
def clean():
    return mymodels.Clean()
def inputs():
    return (torch.ones(3, 4),)
def not_a_model():
    return 42
'''


def test_models_declared_in_config_become_items(repo):
    repo.makepyfile(factories=CONFIG_FACTORY)
    repo.makepyprojecttoml('''
        [tool.inferencecheck.models.pair]
        factory = "factories:clean_with_inputs"
        targets = ["mac"]
        [tool.inferencecheck.models.split]
        factory = "factories:clean"
        inputs = "factories:inputs"
        targets = ["mac", "mac-mps"]
        options = { atol = 1e-3 }
    ''')
    result = repo.runpytest("--inference-check", "-v", "pyproject.toml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*pyproject.toml::pair[[]mac[]] PASSED*",
                                 "*pyproject.toml::split[[]mac[]] PASSED*"])
    repo.runpytest("pyproject.toml").assert_outcomes(skipped=2)


def test_declared_models_are_never_silently_left_out_by_testpaths(repo):
    # Issue 31: with `testpaths = ["tests"]` a model declared in pyproject.toml was never
    # collected, and nothing said so.
    repo.makepyfile(factories=CONFIG_FACTORY)
    repo.makepyprojecttoml('''
        [tool.pytest.ini_options]
        testpaths = ["tests"]
        [tool.inferencecheck.models.pair]
        factory = "factories:clean_with_inputs"
        targets = ["mac"]
    ''')
    (repo.path / "tests").mkdir()
    (repo.path / "tests" / "test_plain.py").write_text("def test_plain():\n    pass\n")
    default = repo.runpytest("--inference-check", "-v")  # the default paths: testpaths
    default.assert_outcomes(passed=2)
    default.stdout.fnmatch_lines(["*pyproject.toml::pair[[]mac[]] PASSED*"])
    # xdist's workers decide their paths as the controller does
    repo.runpytest_subprocess("--inference-check", "-n", "2",
                              "-p", "no:cacheprovider").assert_outcomes(passed=2)
    given = repo.runpytest("--inference-check", "-v", "tests")  # the user's own choice: said
    given.assert_outcomes(passed=1)
    given.stdout.fnmatch_lines(["inferencecheck: the models declared in pyproject.toml are not "
                                "checked: the paths given (tests) do not include it; add "
                                "pyproject.toml to the command to check them"])
    off = repo.runpytest("-v")  # checks off: nothing added, nothing said
    off.assert_outcomes(passed=1)
    assert "pyproject.toml::pair" not in off.stdout.str()


@pytest.mark.parametrize("toml, message", [
    ('[tool.inferencecheck.models.m]\ntargets = ["mac"]\n',
     "*[[]tool.inferencecheck.models.m[]]: missing required key 'factory'*"),
    ('[tool.inferencecheck.models.m]\nfactory = "factories"\ntargets = ["mac"]\n',
     "*factory must be 'package.module:function', got 'factories'*"),
    ('[tool.inferencecheck.models.m]\nfactory = "nosuchmodule:f"\ntargets = ["mac"]\n',
     "*cannot import 'nosuchmodule' for 'nosuchmodule:f': ModuleNotFoundError*"),
    ('[tool.inferencecheck.models.m]\nfactory = "factories:missing"\ntargets = ["mac"]\n',
     "*'factories' has no attribute 'missing'*"),
    ('[tool.inferencecheck.models.m]\nfactory = "factories:clean"\ntargets = ["mack"]\n',
     "*[[]tool.inferencecheck.models.m[]]: unknown deployment target 'mack'. Did you mean 'mac'?*"),
    ('[tool.inferencecheck.models.m]\nfactory = "factories:clean"\ntargets = ["mac"]\n'
     'options = { rtoll = 1 }\n', "*unknown option 'rtoll' (did you mean 'rtol'?)*"),
])
def test_bad_config_entries_name_the_entry(repo, toml, message):
    repo.makepyfile(factories=CONFIG_FACTORY)
    repo.makepyprojecttoml(toml)
    result = repo.runpytest("--inference-check", "pyproject.toml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_factory_with_the_wrong_return_type(repo):
    repo.makepyfile(factories=CONFIG_FACTORY)
    repo.makepyprojecttoml('[tool.inferencecheck.models.m]\nfactory = "factories:not_a_model"\n'
                           'targets = ["mac"]\n')
    result = repo.runpytest("--inference-check", "pyproject.toml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*factory 'factories:not_a_model' returned int; it must return "
                                 "(model, example_inputs)*"])


def test_a_toml_syntax_error_names_the_line(repo):
    # pytest parses the root pyproject.toml itself; a models file elsewhere is ours to read.
    repo.makefile(".ini", pytest="[pytest]\n")
    sub = repo.mkdir("sub")
    (sub / "pyproject.toml").write_text(
        '[tool.inferencecheck.models.m]\nfactory = "factories:clean"\ntargets = [mac]\n')
    result = repo.runpytest("-c", "pytest.ini", "sub")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*sub/pyproject.toml: invalid TOML: *(at line 3, column 12)*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_unknown_config_keys_are_errors(repo):
    repo.makepyprojecttoml('[tool.inferencecheck]\nstrikt = true\n')
    result = repo.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pyproject.toml: [[]tool.inferencecheck[]]: unknown key(s) strikt; "
                                 "valid keys:*strict*"])


def test_plugin_hooks_see_every_result(repo):
    repo.makeconftest('''
        seen = []
        def pytest_inferencecheck_result(item, result):
            seen.append((item.name, result.outcome))
        def pytest_inferencecheck_summary(config, results):
            print("SUMMARY-HOOK", seen, [r["target"] for r in results])
    ''')
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac")
        def test_x(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
    ''')
    result = repo.runpytest("--inference-check", "-s")
    result.stdout.fnmatch_lines(["*SUMMARY-HOOK [[]('test_x[[]mac[]]', 'passed')[]] [[]'mac'[]]*"])


@pytest.mark.slow
def test_loads_from_its_entry_point_in_a_subprocess(repo):
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("mac")
        def test_x(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
    ''')
    result = repo.runpytest_subprocess("--inference-check", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins:*inferencecheck*", "*= inference check =*"])


def test_a_deviation_points_at_the_marker_not_at_a_docstring_that_names_it(repo):
    # Issue 19: the first source line containing "deploy_target" was taken, so a method's
    # docstring (or a module docstring above `pytestmark`) won over the marker itself.
    repo.makepyfile(test_cls='''
        import pytest, torch, mymodels

        @pytest.mark.deploy_target("mac", uses="aoti-python")
        class TestRanker:
            def test_x(self, inference_check):
                """Checked on every deploy_target of the class."""
                inference_check(mymodels.Clean(), (torch.ones(2, 4),))
    ''', test_mod='''
        """These models ship to one deploy_target: a Mac."""
        import pytest, torch, mymodels

        pytestmark = [pytest.mark.slow,
                      pytest.mark.deploy_target("mac", uses="aoti-python")]

        def test_y(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
    ''')
    result = repo.runpytest("--inference-check")
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines_random(["*test_cls.py:3: DeploymentDeviation*",
                                        "*test_mod.py:5: DeploymentDeviation*"])
    result = repo.runpytest("--inference-check", "--inference-check-strict")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random([
        "*FAILED (row 8, stage deviation) at test_cls.py:3: declared *aoti-python*",
        "*FAILED (row 8, stage deviation) at test_mod.py:5: declared *aoti-python*",
    ])


def test_two_checks_in_one_test_need_two_names(repo):
    # Issue 19: two calls yielded two results with one identity (one JUnit case, one baseline
    # entry for two models), and the run could exit 0 while JUnit said a failure.
    repo.makepyfile(test_two='''
        import pytest, torch, mymodels

        @pytest.mark.deploy_target("mac")
        def test_same(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))

        @pytest.mark.deploy_target("mac")
        def test_named(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="first")
            inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="second")
    ''')
    result = repo.runpytest("--inference-check", "--inference-check-json=r.json")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*inference_check(test_two.py::test_same[[]mac[]]): "
                                 "inference_check was already called in this test: each check "
                                 "in one test needs its own name=*"])
    report = json.loads((repo.path / "r.json").read_text())
    named = [r["identity"] for r in report["results"] if "test_named" in r["nodeid"]]
    assert named == ["first", "second"]


def test_options_are_validated_once_at_the_door(repo):
    """Issue 32: the marker validated its options, then every check validated them again (with
    `backends`, torch's backend list was fetched once more per item). Now the marker's door
    validates once for all its items; an override at the call is validated there, naming it."""
    repo.makeconftest('''
        import torch.compiler
        real = torch.compiler.list_backends
        def counting(*args, **kwargs):
            with open("list_backends.calls", "a") as out:
                out.write("1")
            return real(*args, **kwargs)
        torch.compiler.list_backends = counting  # a spy on the real function
    ''')
    repo.makepyfile(test_m='''
        import pytest, torch, mymodels
        @pytest.mark.deploy_target("server-x86-python", "server-x86-cpp", backends=["eager"])
        def test_clean(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),))
        @pytest.mark.deploy_target("mac")
        def test_typo(inference_check):
            inference_check(mymodels.Clean(), (torch.ones(2, 4),), atl=1e-3)
        @pytest.mark.deploy_target("mac")
        def test_override(inference_check):
            r = inference_check(mymodels.Clean(), (torch.ones(2, 4),), atol=0.5)
            assert r.numerics.atol == 0.5 and r.numerics.rtol == 1e-4  # the rest: the marker's
    ''')
    result = repo.runpytest("--inference-check", "--inference-check-level=quick", "-p",
                            "no:cacheprovider", "-k", "not override")
    result.assert_outcomes(passed=2, failed=1, deselected=1)
    assert (repo.path / "list_backends.calls").read_text() == "1"  # two items, one validation
    result.stdout.fnmatch_lines(["*inference_check(test_m.py::test_typo?mac?): unknown option "
                                 "'atl' (did you mean 'atol'?) from this call; valid options*"])
    result = repo.runpytest("--inference-check", "-p", "no:cacheprovider", "-k", "override")
    result.assert_outcomes(passed=1, deselected=3)
