"""The ${...} reference language: parsing, add-time checks, implicit parents, interpolation."""

from __future__ import annotations

import re

import pytest

from taskmill.core.refs import (
    ALLOWED_KINDS,
    ARTIFACT_ATTRS,
    MODEL_ATTRS,
    Ref,
    RefContext,
    RefKind,
    RefScope,
    check_closed,
    check_refs,
    find_refs,
    parse_ref,
    referenced_steps,
    resolve,
    single_ref,
)
from taskmill.errors import ReferenceError_, SpecError

# -- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "step", "kind", "path"),
    [
        ("${pipeline.lr}", "pipeline", RefKind.PIPELINE, ("lr",)),
        ("${pipeline.Args/lr}", "pipeline", RefKind.PIPELINE, ("Args/lr",)),
        ("${stage_process.id}", "stage_process", RefKind.ID, ()),
        ("${s.parameters.General/lr}", "s", RefKind.PARAMETERS, ("General/lr",)),
        # ClearML re-joins the rest with '.', so keys may contain dots.
        ("${s.parameters.Args/opt.lr.max}", "s", RefKind.PARAMETERS, ("Args/opt.lr.max",)),
        ("${s.artifacts.dataset.url}", "s", RefKind.ARTIFACTS, ("dataset", "url")),
        (r"${s.artifacts.data\.csv.url}", "s", RefKind.ARTIFACTS, ("data.csv", "url")),
        (r"${s.artifacts.a\.b\.c.hash}", "s", RefKind.ARTIFACTS, ("a.b.c", "hash")),
        ("${stage_train.models.output.-1.url}", "stage_train", RefKind.MODELS, ("output", "-1", "url")),
        ("${s.models.input.0.id}", "s", RefKind.MODELS, ("input", "0", "id")),
        ("${s.models.output.+2.name}", "s", RefKind.MODELS, ("output", "2", "name")),
        ("${stage1.script.branch}", "stage1", RefKind.FIELD, ("script", "branch")),
        ("${s.script.requirements.pip}", "s", RefKind.FIELD, ("script", "requirements", "pip")),
        ("${s.container.image}", "s", RefKind.FIELD, ("container", "image")),
        ("${s.execution.queue}", "s", RefKind.FIELD, ("execution", "queue")),
        ("${s.output.destination}", "s", RefKind.FIELD, ("output", "destination")),
        ("${s.script}", "s", RefKind.FIELD, ("script",)),
        ("${s.comment}", "s", RefKind.FIELD, ("comment",)),
        ("${s.tags}", "s", RefKind.FIELD, ("tags",)),
        ("${s.system_tags}", "s", RefKind.FIELD, ("system_tags",)),
        ("${s.project}", "s", RefKind.FIELD, ("project",)),
        ("${step_one.data_frame}", "step_one", RefKind.RETURN, ("data_frame",)),
        ("${my step.id}", "my step", RefKind.ID, ()),
    ],
)
def test_parse_every_form(raw: str, step: str, kind: RefKind, path: tuple[str, ...]) -> None:
    ref = parse_ref(raw)
    assert ref == Ref(step, kind, path, raw)
    assert str(ref) == raw


@pytest.mark.parametrize("attr", sorted(ARTIFACT_ATTRS))
def test_every_artifact_attribute(attr: str) -> None:
    assert parse_ref(f"${{s.artifacts.x.{attr}}}").path == ("x", attr)


@pytest.mark.parametrize("attr", sorted(MODEL_ATTRS))
def test_every_model_attribute(attr: str) -> None:
    assert parse_ref(f"${{s.models.output.-1.{attr}}}").path == ("output", "-1", attr)


def test_model_index_is_an_int_and_may_be_negative() -> None:
    assert parse_ref("${s.models.output.-1.url}").model_index == -1
    assert parse_ref("${s.models.input.3.url}").model_index == 3
    with pytest.raises(ValueError, match="not a models reference"):
        _ = parse_ref("${s.id}").model_index


def test_kind_is_a_plain_string() -> None:
    assert parse_ref("${s.id}").kind == "id"
    assert isinstance(RefKind.RETURN, str)
    assert str(RefKind.RETURN) == "return"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("$s.id", "is not a reference"),
        ("${s.id", "is not a reference"),
        ("${}", "needs a step and what to read"),
        ("${s}", "needs a step and what to read"),
        ("${s.}", "needs a step and what to read"),
        ("${.id}", "needs a step and what to read"),
        ("${pipeline}", "needs a step and what to read"),
        ("${pipeline.}", "needs a step and what to read"),
        ("${s..id}", "a part is empty"),
        ("${s.id.x}", "nothing may follow 'id'"),
        ("${s.parameters}", "parameter key is missing"),
        ("${s.parameters.}", "parameter key is missing"),
        ("${s.parameters.lr}", r"has no section; write it like \$\{s\.parameters\.General/lr\}"),
        ("${s.parameters./lr}", "has no section"),
        ("${s.parameters.General/}", "has no section"),
        ("${s.artifacts}", "needs an artifact name and an attribute"),
        ("${s.artifacts.data}", "needs an artifact name and an attribute"),
        ("${s.artifacts..url}", "needs an artifact name and an attribute"),
        ("${s.artifacts.data.csv.url}", r"write a dot inside the artifact name as '\\\.'"),
        ("${s.artifacts.data.uri}", "unknown artifact attribute 'uri' .one of: hash, metadata, mode"),
        ("${s.models.output.url}", "needs input|output, an index and an attribute"),
        ("${s.models.output.-1.url.x}", "needs input|output, an index and an attribute"),
        ("${s.models.outputs.-1.url}", "'outputs' is neither 'input' nor 'output'"),
        ("${s.models.output.last.url}", r"model index 'last' is not an integer \(-1 is the last model\)"),
        ("${s.models.output.1.5.url}", "needs input|output"),
        ("${s.models.output.-1.uri}", "unknown model attribute 'uri'"),
        ("${s.tags.x}", "task field 'tags' has no sub-fields"),
        ("${s.script..branch}", "a part is empty"),
        ("${s.artifact.data.url}", "unknown kind 'artifact' .did you mean 'artifacts'.."),
        ("${s.model.output.-1.url}", "unknown kind 'model'"),
    ],
)
def test_parse_errors_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ReferenceError_, match=message) as info:
        parse_ref(raw)
    assert isinstance(info.value, SpecError)


def test_parse_errors_show_a_valid_example() -> None:
    with pytest.raises(ReferenceError_, match=re.escape("write it like ${s.models.output.-1.url}")):
        parse_ref("${s.models.output.x.url}")
    with pytest.raises(ReferenceError_, match=re.escape("write it like ${s.artifacts.<name>.url}")):
        parse_ref("${s.artifacts.x}")


def test_find_refs_returns_every_reference_in_order() -> None:
    refs = find_refs("[${train_1.id}, ${train_2.id}] with ${pipeline.lr}")
    assert [r.raw for r in refs] == ["${train_1.id}", "${train_2.id}", "${pipeline.lr}"]
    assert find_refs("no references, $ { } here") == []
    with pytest.raises(ReferenceError_):
        find_refs("ok ${a.id} bad ${a.nope.x}")


def test_single_ref_only_for_exactly_one_reference() -> None:
    assert single_ref("${a.id}") == parse_ref("${a.id}")
    assert single_ref(" ${a.id}") is None
    assert single_ref("${a.id}${b.id}") is None
    assert single_ref("[${a.id}]") is None
    assert single_ref("plain") is None


# -- implicit parents ----------------------------------------------------------------------------


def test_referenced_steps_from_strings() -> None:
    assert referenced_steps("${a.id}") == {"a"}
    assert referenced_steps("[${train_1.id}, ${train_2.artifacts.m.url}] ${pipeline.x}") == {
        "train_1",
        "train_2",
    }
    assert referenced_steps("${pipeline.x}") == set()
    assert referenced_steps("nothing") == set()


def test_referenced_steps_is_lenient_about_malformed_references() -> None:
    assert referenced_steps("${a.nope.x} ${b} ${} ${.id}") == {"a", "b"}


def test_referenced_steps_scans_containers_only_when_recursive() -> None:
    value = {"files": ["${A.artifacts.x.url}", "file2.txt"], "nested": ({"k": "${B.id}"},)}
    assert referenced_steps(value) == set()
    assert referenced_steps(["${A.id}"]) == set()
    assert referenced_steps(value, recursive=True) == {"A", "B"}
    assert referenced_steps(["${A.id}", ("${C.id}",)], recursive=True) == {"A", "C"}


def test_referenced_steps_ignores_dict_keys_and_other_types() -> None:
    assert referenced_steps({"${A.id}": "x"}, recursive=True) == set()
    assert referenced_steps(42) == set()
    assert referenced_steps(None, recursive=True) == set()


# -- add-time checks -----------------------------------------------------------------------------

SCOPE = RefScope(
    steps={"stage_data": None, "stage_train": None, "step_one": ("data_frame", "model"), "step_two": ()},
    params={"lr", "queue", "url"},
)


def check(value: object, context: RefContext = RefContext.PARAMETERS, recursive: bool = False) -> list[Ref]:
    """check_refs() as step 'consumer' in field parameter_override['General/x'] against SCOPE."""
    field = "parameter_override['General/x']"
    return check_refs(value, SCOPE, step="consumer", field=field, context=context, recursive=recursive)


def test_check_returns_the_valid_references() -> None:
    refs = check("[${stage_data.id}, ${stage_train.models.output.-1.url}] ${pipeline.lr}")
    assert [r.kind for r in refs] == [RefKind.ID, RefKind.MODELS, RefKind.PIPELINE]
    assert check("no references") == []
    assert check(3) == []


def test_unknown_step_lists_the_known_steps_and_close_matches() -> None:
    with pytest.raises(ReferenceError_) as info:
        check("${stage_dat.artifacts.dataset.url}")
    message = str(info.value)
    assert message.startswith("step 'consumer', parameter_override['General/x']: ")
    assert "'${stage_dat.artifacts.dataset.url}' names unknown step 'stage_dat'" in message
    assert "did you mean 'stage_data'" in message
    assert "known steps: stage_data, stage_train, step_one, step_two" in message


def test_unknown_step_list_is_capped_for_big_pipelines() -> None:
    scope = RefScope(steps={f"s{i:03}": None for i in range(100)}, params=())
    with pytest.raises(ReferenceError_, match=r"s019, \.\.\. \(80 more\)"):
        check_refs("${zzz.id}", scope, step="c", field="f", context=RefContext.PARAMETERS)


def test_unknown_step_in_an_empty_pipeline() -> None:
    with pytest.raises(ReferenceError_, match="known steps: none yet"):
        check_refs("${a.id}", RefScope({}, ()), step="c", field="f", context=RefContext.PARAMETERS)


def test_unknown_pipeline_parameter_lists_them() -> None:
    with pytest.raises(
        ReferenceError_,
        match=re.escape(
            "unknown pipeline parameter 'lrr' (did you mean 'lr'?); pipeline parameters: lr, queue, url"
        ),
    ):
        check("${pipeline.lrr}")


def test_unknown_pipeline_parameter_when_there_are_none() -> None:
    with pytest.raises(
        ReferenceError_, match=r"pipeline parameters: none \(declare one with add_parameter\)"
    ):
        check_refs("${pipeline.x}", RefScope({}, ()), step="c", field="f", context=RefContext.QUEUE)


def test_a_step_cannot_reference_itself() -> None:
    with pytest.raises(ReferenceError_, match="refers to the step itself"):
        check_refs(
            "${consumer.id}",
            RefScope({"consumer": None}, ()),
            step="consumer",
            field="f",
            context=RefContext.PARAMETERS,
        )


@pytest.mark.parametrize("context", [RefContext.PARAMETERS, RefContext.FUNCTION_KWARGS])
def test_raw_task_fields_are_rejected_outside_task_overrides_and_queues(context: RefContext) -> None:
    with pytest.raises(ReferenceError_) as info:
        check("${stage_data.script.branch}", context)
    message = str(info.value)
    assert (
        "reads the raw task field 'script.branch', allowed only in task_overrides and execution_queue"
        in message
    )
    assert f"in {context.value} use ${{stage_data.id}}" in message


@pytest.mark.parametrize("context", [RefContext.TASK_OVERRIDES, RefContext.QUEUE])
def test_raw_task_fields_are_allowed_in_task_overrides_and_queues(context: RefContext) -> None:
    refs = check("${stage_data.script.branch} ${stage_data.tags} ${pipeline.queue}", context)
    assert [r.kind for r in refs] == [RefKind.FIELD, RefKind.FIELD, RefKind.PIPELINE]


def test_allowed_kinds_cover_every_context() -> None:
    assert set(ALLOWED_KINDS) == set(RefContext)
    for kinds in ALLOWED_KINDS.values():
        assert {RefKind.PIPELINE, RefKind.ID, RefKind.PARAMETERS, RefKind.ARTIFACTS, RefKind.MODELS} <= kinds


def test_return_value_of_a_function_step() -> None:
    refs = check("${step_one.data_frame}", RefContext.FUNCTION_KWARGS)
    assert refs == [Ref("step_one", RefKind.RETURN, ("data_frame",), "${step_one.data_frame}")]


def test_return_value_of_a_task_step_is_rejected() -> None:
    with pytest.raises(
        ReferenceError_,
        match=re.escape(
            "step 'stage_data' is a Task step, so it has no return value 'df'; use ${stage_data.param"
        ),
    ):
        check("${stage_data.df}", RefContext.FUNCTION_KWARGS)


def test_undeclared_return_value_is_rejected() -> None:
    with pytest.raises(
        ReferenceError_,
        match=r"declares no return value 'frame' \(its function_return: 'data_frame', 'model'\)",
    ):
        check("${step_one.frame}", RefContext.FUNCTION_KWARGS)
    with pytest.raises(ReferenceError_, match=r"its function_return: none"):
        check("${step_two.x}", RefContext.FUNCTION_KWARGS)


def test_syntax_errors_are_reported_with_step_and_field() -> None:
    with pytest.raises(
        ReferenceError_,
        match="^"
        + re.escape("step 'consumer', parameter_override['General/x']: bad reference '${stage_data.models"),
    ):
        check("${stage_data.models.output.x.url}")


def test_nested_values_are_checked_only_when_recursive() -> None:
    value = ["ok.txt", {"k": "${nope.id}"}]
    assert check(value) == []
    with pytest.raises(
        ReferenceError_, match=r"parameter_override\['General/x'\]\[1\]\['k'\]: '\$\{nope\.id\}'"
    ):
        check(value, recursive=True)
    refs = check(["${stage_data.id}", ("${pipeline.url}",)], recursive=True)
    assert [r.step for r in refs] == ["stage_data", "pipeline"]


# -- interpolation -------------------------------------------------------------------------------


def fake_values(ref: Ref) -> object:
    table: dict[str, object] = {
        "${pipeline.epochs}": 10,
        "${pipeline.rate}": 0.5,
        "${a.id}": "aaaa",
        "${b.id}": "bbbb",
        "${a.obj}": OBJ,
        "${a.none}": None,
    }
    return table[ref.raw]


OBJ = object()


def test_a_single_reference_keeps_the_resolved_type() -> None:
    assert resolve("${pipeline.epochs}", fake_values) == 10
    assert resolve("${pipeline.rate}", fake_values) == 0.5
    assert resolve("${a.obj}", fake_values) is OBJ
    assert resolve("${a.none}", fake_values) is None
    assert resolve("${a.id}", fake_values) == "aaaa"


def test_several_references_are_interpolated_as_text() -> None:
    assert resolve("[${a.id}, ${b.id}]", fake_values) == "[aaaa, bbbb]"
    assert resolve("${a.id}${b.id}", fake_values) == "aaaabbbb"
    assert resolve("epochs=${pipeline.epochs}", fake_values) == "epochs=10"
    assert resolve("${a.none}/${pipeline.rate}", fake_values) == "None/0.5"


def test_values_without_references_are_returned_unchanged() -> None:
    assert resolve("plain $ {text}", fake_values) == "plain $ {text}"
    assert resolve(5, fake_values) == 5
    items = ["${a.id}"]
    assert resolve(items, fake_values) is items  # containers are only walked when recursive


def test_recursive_resolution_keeps_container_types() -> None:
    value = {
        "files": ["${a.id}", "file2.txt"],
        "pair": ("${pipeline.epochs}", 1),
        "${a.id}": {"n": "${b.id}"},
    }
    assert resolve(value, fake_values, recursive=True) == {
        "files": ["aaaa", "file2.txt"],
        "pair": (10, 1),
        "${a.id}": {"n": "bbbb"},  # keys are not resolved
    }


def test_resolver_is_called_once_per_occurrence() -> None:
    seen: list[str] = []

    def resolver(ref: Ref) -> object:
        seen.append(ref.raw)
        return "v"

    assert resolve("${a.id}-${a.id}-${b.id}", resolver) == "v-v-v"
    assert seen == ["${a.id}", "${a.id}", "${b.id}"]


def test_malformed_references_raise_during_resolution() -> None:
    with pytest.raises(ReferenceError_, match="unknown kind 'nope'"):
        resolve("x ${a.nope.x}", fake_values)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("${a", "${a"), ("${a.b", "${a.b"), ("x ${a.id} and ${b.id", "${b.id"), ("${a.b ${c.id}", "${a.b")],
)
def test_an_unclosed_reference_is_an_error_not_a_literal(text: str, shown: str) -> None:
    with pytest.raises(ReferenceError_, match=rf"bad reference '{re.escape(shown)}': it is not closed"):
        find_refs(text)
    with pytest.raises(ReferenceError_, match=r"step 'c', f: bad reference .*not closed"):
        check_refs(
            text, RefScope({"a": None, "b": None}, ()), step="c", field="f", context=RefContext.PARAMETERS
        )
    with pytest.raises(ReferenceError_, match="not closed"):
        resolve(text, lambda ref: "x")


def test_closed_references_and_plain_dollars_stay_accepted() -> None:
    check_closed("${a.id} costs $5 {not a ref} $ {b}")
    assert resolve("${a.id}-$x", lambda ref: "v") == "v-$x"
