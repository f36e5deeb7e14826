"""ClearML's ``clearml.automation``: pipelines, schedules, triggers and hyper-parameter search.

``from taskmill.automation import *`` brings the names ClearML's brings: ``PipelineController``,
``PipelineDecorator``, ``TaskScheduler``, ``TriggerScheduler``, ``HyperParameterOptimizer`` with
``Objective``, ``GridSearch``, ``RandomSearch`` and the parameter ranges, and ``ClearmlJob``.
``OptimizerOptuna`` (needs ``pip install 'taskmill[optuna]'``) and ``OptimizerBOHB`` (not
available: it says what to use) are in :mod:`taskmill.automation.optuna` and
:mod:`taskmill.automation.hpbandster`, as in ClearML, and importable from here too.
:class:`~taskmill.automation.clock.ManualClock` drives schedules in tests.

This package sits above the Task API (like the server and the agent): ``import taskmill`` does
not import it.
"""

from __future__ import annotations

from taskmill.automation.clock import Clock as Clock
from taskmill.automation.clock import ManualClock as ManualClock
from taskmill.automation.controller import PipelineController, PipelineDecorator
from taskmill.automation.hpbandster import OptimizerBOHB as OptimizerBOHB
from taskmill.automation.job import ClearmlJob
from taskmill.automation.objective import Objective
from taskmill.automation.optimization import HyperParameterOptimizer
from taskmill.automation.optuna import OptimizerOptuna as OptimizerOptuna
from taskmill.automation.parameters import (
    DiscreteParameterRange,
    LogUniformParameterRange,
    ParameterSet,
    UniformIntegerParameterRange,
    UniformParameterRange,
)
from taskmill.automation.parameters import (
    Parameter as Parameter,
)
from taskmill.automation.scheduler import ScheduleJob as ScheduleJob
from taskmill.automation.scheduler import TaskScheduler
from taskmill.automation.strategies import GridSearch, RandomSearch
from taskmill.automation.strategies import SearchStrategy as SearchStrategy
from taskmill.automation.trigger import TriggerScheduler

__all__ = [
    "ClearmlJob",
    "DiscreteParameterRange",
    "GridSearch",
    "HyperParameterOptimizer",
    "LogUniformParameterRange",
    "Objective",
    "ParameterSet",
    "PipelineController",
    "PipelineDecorator",
    "RandomSearch",
    "TaskScheduler",
    "TriggerScheduler",
    "UniformIntegerParameterRange",
    "UniformParameterRange",
]
