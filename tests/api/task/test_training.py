"""Iterations, seed, labels, model design, models and reported values of a task (real SQLite store)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from taskmill import InputModel, OutputModel, Task
from taskmill.api.session import PROCESS


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def test_iterations_are_stored_and_the_last_comes_from_the_scalars() -> None:
    t = Task.create(project_name="p", task_name="it")
    assert t.get_last_iteration() == 0 and t.get_initial_iteration() == 0
    assert t.set_initial_iteration(40) == 40
    logger = t.get_logger()
    for i in (3, 7, 5):
        logger.report_scalar("loss", "train", 1.0 / i, iteration=i)
    t.flush()  # scalars are buffered per handle
    again = Task.get_task(task_id=t.id)
    assert again.get_last_iteration() == 7 and again.get_initial_iteration() == 40


def test_random_seed_is_applied_by_init_and_can_be_changed(run_script) -> None:  # type: ignore[no-untyped-def]
    assert Task.get_random_seed() == 1337
    done = run_script(
        """
        import random
        from taskmill import Task
        Task.set_random_seed(7)
        Task.init(project_name="p", task_name="seeded")
        print(random.random(), Task.get_random_seed())
        """
    )
    assert done.returncode == 0, done.stderr
    random.seed(7)
    assert done.stdout.split() == [str(random.random()), "7"]
    Task.set_random_seed(None)
    assert Task.get_random_seed() is None
    PROCESS.reset()
    assert Task.get_random_seed() == 1337


def test_label_enumeration_and_model_design_round_trip() -> None:
    t = Task.create(project_name="p", task_name="labels")
    assert t.connect_label_enumeration({"cat": 1, "dog": 2, "puppy": 2}) == {"cat": 1, "dog": 2, "puppy": 2}
    again = Task.get_task(task_id=t.id)
    assert again.get_labels_enumeration() == {"cat": 1, "dog": 2, "puppy": 2}
    assert again.get_num_of_classes() == 2 and again.get_label_num_description() == {1: "cat", 2: "puppy"}
    again._attached = True  # running for an agent: the stored enumeration wins
    assert again.connect_label_enumeration({"x": 0}) == {"cat": 1, "dog": 2, "puppy": 2}
    assert again.connect_label_enumeration({"x": 0}, ignore_remote_overrides=True) == {"x": 0}
    t.set_model_config(config_dict={"layers": 3})
    assert t.get_model_config_dict() == {"layers": 3} and t.get_model_design() == '{"layers": 3}'
    t.set_model_config(config_text="not json")
    with pytest.raises(ValueError, match="not a JSON object"):
        t.get_model_config_dict()


def test_models_inputs_and_outputs(tmp_path: Path) -> None:
    producer = Task.create(project_name="p", task_name="train")
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights")
    model = OutputModel(task=producer, name="net", config_dict={"k": 1}, label_enumeration={"a": 0})
    model.update_weights(str(weights))
    assert producer.output_models_id == {"net": model.id}
    assert [m.id for m in producer.get_models()["output"]] == [model.id]

    consumer = Task.create(project_name="p", task_name="eval")
    consumer.set_input_model(model_id=model.id, name="start")
    assert list(consumer.input_models_id) == ["start"]
    (inp,) = consumer.get_models()["input"]
    assert inp.url == model.url and Path(str(inp.get_weights())).read_bytes() == b"weights"
    assert consumer.get_labels_enumeration() == {"a": 0} and consumer.get_model_config_dict() == {"k": 1}
    other = Task.create(project_name="p", task_name="by-name")
    other.set_input_model(model_name="net", update_task_labels=False)
    assert other.get_labels_enumeration() == {} and len(other.input_models_id) == 1
    with pytest.raises(ValueError):
        other.set_input_model(model_name="no such model")
    assert isinstance(InputModel(model_id=model.id), InputModel)


def test_reported_values_read_back() -> None:
    t = Task.create(project_name="p", task_name="values")
    logger = t.get_logger()
    logger.report_single_value("accuracy", 0.9)
    logger.report_scalar("loss", "val", 0.5, iteration=1)
    logger.report_scalar("loss", "val", 0.25, iteration=2)
    logger.report_image("samples", "first", iteration=3, matrix=[[0, 255], [255, 0]])
    assert t.get_reported_single_value("accuracy") == 0.9
    assert t.get_reported_single_value("missing") is None
    assert t.get_all_reported_scalars()["loss"]["val"] == {"x": [1, 2], "y": [0.5, 0.25]}
    (sample,) = t.get_debug_samples("samples", "first")
    assert sample["iteration"] == 3 and sample["artifact"] == "debug/samples/first/3"
    assert t.get_debug_samples("samples", "first", n_last_iterations=0) == []
