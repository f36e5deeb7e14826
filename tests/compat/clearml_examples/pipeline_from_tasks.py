"""ClearML's examples/pipeline/pipeline_from_tasks.py, re-written: a PipelineController that
clones three existing tasks (step1/2/3 scripts, registered first) and overrides their parameters."""

# ClearML's own style is kept on purpose: only the imports differ
# ruff: noqa: UP032

import argparse

from taskmill.automation import PipelineController


def pre_execute_callback_example(a_pipeline, a_node, current_param_override):
    # type (PipelineController, PipelineController.Node, dict) -> bool
    print("Cloning Task id={} with parameters: {}".format(a_node.base_task_id, current_param_override))
    # if we want to skip this node (and subtree of this node) we return False
    return True


def post_execute_callback_example(a_pipeline, a_node):
    # type (PipelineController, PipelineController.Node) -> None
    print("Completed Task id={}".format(a_node.executed))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["debug", "local", "remote"], default="local")
    mode = parser.parse_args().mode

    pipe = PipelineController(
        name="Pipeline demo", project="examples", version="0.0.1", add_pipeline_tags=False
    )
    pipe.add_parameter("url", "", "dataset_url")
    pipe.set_default_execution_queue("default")
    pipe.add_step(
        name="stage_data",
        base_task_project="examples",
        base_task_name="Pipeline step 1 dataset artifact",
        parameter_override={"General/dataset_url": "${pipeline.url}"},
    )
    pipe.add_step(
        name="stage_process",
        parents=["stage_data"],
        base_task_project="examples",
        base_task_name="Pipeline step 2 process dataset",
        parameter_override={
            "General/dataset_url": "${stage_data.artifacts.dataset.url}",
            "General/test_size": 0.25,
        },
        pre_execute_callback=pre_execute_callback_example,
        post_execute_callback=post_execute_callback_example,
    )
    pipe.add_step(
        name="stage_train",
        parents=["stage_process"],
        base_task_project="examples",
        base_task_name="Pipeline step 3 train model",
        parameter_override={"General/dataset_task_id": "${stage_process.id}"},
    )
    if mode == "remote":
        pipe.start(queue="services")
    else:
        pipe.start_locally(run_pipeline_steps_locally=True)
    print("done")
