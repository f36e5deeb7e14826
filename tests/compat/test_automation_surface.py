"""The automation family against ClearML 2.1.12: names, import paths, argument names and order.

The expected lists were read from clearml==2.1.12 installed from the registry in a side venv
(`inspect.signature` of each method, positional-or-keyword parameters; see
`../shared/clearml-api/`). taskmill may add keyword-only arguments and arguments after ClearML's.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

CLEARML_SIGNATURES: dict[str, dict[str, list[str]]] = {
    "TaskScheduler": {
        "__init__": ["sync_frequency_minutes", "force_create_task_name", "force_create_task_project"],
        "add_task": [
            "schedule_task_id",
            "schedule_function",
            "queue",
            "name",
            "target_project",
            "minute",
            "hour",
            "day",
            "weekdays",
            "month",
            "year",
            "limit_execution_time",
            "single_instance",
            "recurring",
            "execute_immediately",
            "reuse_task",
            "task_parameters",
            "task_overrides",
        ],
        "remove_task": ["task_id"],
        "get_scheduled_tasks": [],
        "start": [],
        "start_remotely": ["queue"],
    },
    "TriggerScheduler": {
        "__init__": [
            "pooling_frequency_minutes",
            "sync_frequency_minutes",
            "force_create_task_name",
            "force_create_task_project",
        ],
        "add_dataset_trigger": [
            "schedule_task_id",
            "schedule_queue",
            "schedule_function",
            "trigger_project",
            "trigger_name",
            "trigger_on_publish",
            "trigger_on_tags",
            "trigger_on_archive",
            "trigger_required_tags",
            "name",
            "target_project",
            "add_tag",
            "single_instance",
            "reuse_task",
            "task_parameters",
            "task_overrides",
        ],
        "add_model_trigger": [
            "schedule_task_id",
            "schedule_queue",
            "schedule_function",
            "trigger_project",
            "trigger_name",
            "trigger_on_publish",
            "trigger_on_tags",
            "trigger_on_archive",
            "trigger_required_tags",
            "name",
            "target_project",
            "add_tag",
            "single_instance",
            "reuse_task",
            "task_parameters",
            "task_overrides",
        ],
        "add_task_trigger": [
            "schedule_task_id",
            "schedule_queue",
            "schedule_function",
            "trigger_project",
            "trigger_name",
            "trigger_on_tags",
            "trigger_on_status",
            "trigger_exclude_dev_tasks",
            "trigger_on_metric",
            "trigger_on_variant",
            "trigger_on_threshold",
            "trigger_on_sign",
            "trigger_required_tags",
            "name",
            "target_project",
            "add_tag",
            "single_instance",
            "reuse_task",
            "task_parameters",
            "task_overrides",
        ],
        "get_triggers": [],
        "start": [],
        "start_remotely": ["queue"],
    },
    "HyperParameterOptimizer": {
        "__init__": [
            "base_task_id",
            "hyper_parameters",
            "objective_metric_title",
            "objective_metric_series",
            "objective_metric_sign",
            "optimizer_class",
            "max_number_of_concurrent_tasks",
            "execution_queue",
            "optimization_time_limit",
            "compute_time_limit",
            "auto_connect_task",
            "always_create_task",
            "spawn_project",
            "save_top_k_tasks_only",
        ],
        "start": ["job_complete_callback"],
        "start_locally": ["job_complete_callback"],
        "stop": ["timeout", "wait_for_reporter"],
        "wait": ["timeout"],
        "get_top_experiments": ["top_k"],
        "get_top_experiments_details": ["top_k", "all_metrics", "all_hyper_parameters", "only_completed"],
        "get_optimizer_top_experiments": [
            "objective_metric_title",
            "objective_metric_series",
            "objective_metric_sign",
            "optimizer_task_id",
            "top_k",
        ],
        "get_num_active_experiments": [],
        "get_active_experiments": [],
        "elapsed": [],
        "is_active": [],
        "is_running": [],
        "set_time_limit": ["in_minutes", "specific_time"],
        "get_time_limit": [],
        "reached_time_limit": [],
        "set_report_period": ["report_period_minutes"],
        "get_optimizer": [],
        "set_default_job_class": ["job_class"],
    },
    "UniformParameterRange": {
        "__init__": ["name", "min_value", "max_value", "step_size", "include_max_value"],
        "get_value": [],
        "to_list": [],
    },
    "UniformIntegerParameterRange": {
        "__init__": ["name", "min_value", "max_value", "step_size", "include_max_value"],
        "get_value": [],
        "to_list": [],
    },
    "DiscreteParameterRange": {
        "__init__": ["name", "values"],
        "get_value": [],
        "to_list": [],
    },
    "LogUniformParameterRange": {
        "__init__": ["name", "min_value", "max_value", "base", "step_size", "include_max_value"],
        "get_value": [],
        "to_list": [],
    },
    "ParameterSet": {
        "__init__": ["parameter_combinations"],
        "get_value": [],
        "to_list": [],
    },
    "GridSearch": {
        "__init__": [
            "base_task_id",
            "hyper_parameters",
            "objective_metric",
            "execution_queue",
            "num_concurrent_workers",
            "pool_period_min",
            "time_limit_per_job",
            "compute_time_limit",
            "max_iteration_per_job",
            "total_max_jobs",
        ],
    },
    "RandomSearch": {
        "__init__": [
            "base_task_id",
            "hyper_parameters",
            "objective_metric",
            "execution_queue",
            "num_concurrent_workers",
            "pool_period_min",
            "time_limit_per_job",
            "compute_time_limit",
            "max_iteration_per_job",
            "total_max_jobs",
        ],
    },
    "Objective": {
        "__init__": ["title", "series", "order", "extremum"],
        "get_objective": ["task_id"],
        "get_current_raw_objective": ["task"],
        "get_normalized_objective": ["task_id"],
        "get_objective_sign": [],
        "get_objective_metric": [],
        "get_top_tasks": ["top_k", "optimizer_task_id", "task_filter"],
    },
    "ClearmlJob": {
        "__init__": [
            "base_task_id",
            "parameter_override",
            "task_overrides",
            "configuration_overrides",
            "tags",
            "parent",
            "disable_clone_task",
            "allow_caching",
            "target_project",
            "output_uri",
            "enable_local_imports",
        ],
        "launch": ["queue_name"],
        "abort": [],
        "status": ["force"],
        "is_running": [],
        "is_pending": [],
        "is_completed": [],
        "is_failed": [],
        "is_aborted": [],
        "is_stopped": ["aborted_nonresponsive_as_running"],
        "started": [],
        "elapsed": [],
        "iterations": [],
        "get_metric": ["title", "series"],
        "task_id": [],
        "wait": ["timeout", "pool_period", "aborted_nonresponsive_as_running"],
        "delete": [],
        "worker": [],
        "status_message": [],
        "get_console_output": ["number_of_reports"],
        "is_cached_task": [],
    },
}

#: ``clearml.automation.__all__`` in 2.1.12
CLEARML_ALL = [
    "UniformParameterRange",
    "DiscreteParameterRange",
    "UniformIntegerParameterRange",
    "ParameterSet",
    "LogUniformParameterRange",
    "GridSearch",
    "RandomSearch",
    "HyperParameterOptimizer",
    "Objective",
    "ClearmlJob",
    "PipelineController",
    "TaskScheduler",
    "TriggerScheduler",
    "PipelineDecorator",
]

#: where ClearML code imports automation classes from (module -> names)
CLEARML_PATHS = {
    "automation.optimization": [
        "GridSearch",
        "RandomSearch",
        "HyperParameterOptimizer",
        "Objective",
        "SearchStrategy",
    ],
    "automation.parameters": [
        "UniformParameterRange",
        "UniformIntegerParameterRange",
        "DiscreteParameterRange",
        "LogUniformParameterRange",
        "ParameterSet",
    ],
    "automation.scheduler": ["TaskScheduler", "ScheduleJob"],
    "automation.trigger": ["TriggerScheduler", "DatasetTrigger", "ModelTrigger", "TaskTrigger"],
    "automation.job": ["ClearmlJob"],
    "automation.optuna": ["OptimizerOptuna"],
    "automation.hpbandster": ["OptimizerBOHB"],
    "automation.controller": ["PipelineController", "PipelineDecorator"],
}


def test_star_import_brings_every_name_clearmls_brings() -> None:
    namespace: dict[str, object] = {}
    exec("from taskmill.automation import *", namespace)
    assert set(CLEARML_ALL) <= set(namespace)


@pytest.mark.parametrize(("module", "names"), sorted(CLEARML_PATHS.items()))
def test_clearml_submodule_paths_resolve(module: str, names: list[str]) -> None:
    found = importlib.import_module(f"taskmill.{module}")
    for name in names:
        assert hasattr(found, name), f"taskmill.{module} has no {name}"


def _parameters(function: object) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        p.name
        for p in inspect.signature(function).parameters.values()  # type: ignore[arg-type]
        if p.kind in kinds and p.name not in ("self", "cls")
    ]


@pytest.mark.parametrize("cls_name", sorted(CLEARML_SIGNATURES))
def test_methods_keep_clearmls_argument_names_and_order(cls_name: str) -> None:
    import taskmill.automation as automation

    cls = getattr(automation, cls_name)
    for method, expected in CLEARML_SIGNATURES[cls_name].items():
        ours = _parameters(getattr(cls, method))
        assert ours[: len(expected)] == expected, f"{cls_name}.{method}: {ours} vs ClearML {expected}"
