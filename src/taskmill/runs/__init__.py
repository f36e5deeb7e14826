"""Stored pipeline runs as data and commands: the layer between the engine and the API.

The CLI, the web UI and ``PipelineController.get/clone`` read and change stored runs through
these modules; they need only the store (and :mod:`taskmill.core`), never the authoring API:

* :mod:`taskmill.runs.views`: frozen read models of pipelines, runs and steps.
* :mod:`taskmill.runs.records`: finding runs, numbering and versioning them.
* :mod:`taskmill.runs.processes`: whether a run's controller process still runs.
* :mod:`taskmill.runs.commands`: list, show, explain, abort, resume, new run, clone.
* :mod:`taskmill.runs.editing`: parameters edited as text (drafts, a new run's ``Args/``).
* :mod:`taskmill.runs.scripts`: finding a recorded script on this machine to run it again.
* :mod:`taskmill.runs.restore`: a resumed run's finished steps put back onto engine nodes (the
  only module here that imports the engine; the server never imports it).

This package imports nothing itself, so importing one module loads only what that module needs.
"""
