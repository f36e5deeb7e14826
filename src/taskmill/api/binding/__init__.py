"""Framework auto-logging: ``Task.init(auto_connect_frameworks=...)`` (ClearML's bindings).

With a task open (``Task.current_task()``: the pipeline step running in this thread, else the
main task), what the user's code does with common ML frameworks is recorded on that task:

* **models**: ``joblib.dump`` (and ``pickle.dump`` of a scikit-learn/XGBoost/LightGBM/CatBoost
  model), ``torch.save``, ``save_model`` of XGBoost, LightGBM and CatBoost, Keras/TensorFlow
  ``model.save``/``save_weights`` to a file make it an output model of the task (the framework
  recorded, the file uploaded to the task's output location through ``OutputModel``), so
  ``task.models['output'][-1]`` and ``${step.models.output.-1.id}`` find it. Saving the same
  file again uploads new weights to the same model.
* **TensorBoard**: ``SummaryWriter`` of ``torch.utils.tensorboard`` and ``tensorboardX`` reports
  scalars, histograms, images, figures and text to the task's Logger as well.
* **matplotlib**: ``savefig`` and ``plt.show()`` report the figures as plots (PNG images).

``auto_connect_frameworks``: ``True`` (the default) or ``False`` for all, or a dict that switches
keys off (``{'matplotlib': False, 'pytorch': False, ...}``; missing keys stay on). Keys:
``joblib`` (``scikit`` is the same switch), ``pytorch``, ``xgboost``, ``lightgbm``, ``catboost``,
``tensorflow``, ``tensorboard``, ``matplotlib``; other ClearML keys are accepted and ignored. A
model key's value may be a glob pattern or a list of them, keeping only matching file names
(``{'pytorch': '*.pt'}``).

Lazy: taskmill never imports a framework. ``Task.init`` patches the frameworks already imported;
one imported later is patched right after the user's import of it completes (an import hook on
``sys.meta_path``, :mod:`.hook`). ``task.close()`` undoes every patch (:func:`release_frameworks`).
A binding never breaks the user's call: the call's own result or exception is what the user
gets, and a failure while recording it is a warning on the ``taskmill.binding`` logger.

Where things are: :mod:`.hook` (the import hook, binding and release), :mod:`.patching` (patch
sets, safe calls, model upload), :mod:`.spec`, and one module per framework family:
:mod:`.serialized` (joblib, pickle), :mod:`.pytorch`, :mod:`.boosting`, :mod:`.keras`,
:mod:`.tensorboard`, :mod:`.plots` (matplotlib).
"""

from __future__ import annotations

from taskmill.api.binding.hook import FRAMEWORK_KEYS, bind_frameworks, current_finder, release_frameworks

__all__ = ["FRAMEWORK_KEYS", "bind_frameworks", "current_finder", "release_frameworks"]
