"""TensorBoard writers report to the current task too: ``SummaryWriter`` of
``torch.utils.tensorboard`` and of ``tensorboardX``.

What the writer still writes to its event files is also sent to the task's Logger: ``add_scalar``
and ``add_scalars`` as scalars, ``add_histogram`` as a histogram plot (counts per bin),
``add_image``/``add_images`` as images (a batch side by side), ``add_figure`` as a matplotlib
figure, ``add_text`` as a console line. A tag ``title/series`` is split at its last ``/`` (a
tag without one is both title and series; ``add_scalars`` uses its main tag as the title).
Without ``global_step``, each title/series counts its own iterations from 0. Switched by the
``tensorboard`` key.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from taskmill.api.binding.patching import Make, Patcher
from taskmill.api.binding.spec import Binding
from taskmill.api.session import TaskLike

#: numpy histogram bins for TensorBoard's named bin rules ('tensorflow', 'auto', ...)
DEFAULT_BINS = 30

Reporter = Callable[[Patcher, TaskLike, Mapping[str, Any]], None]


def split_tag(tag: Any) -> tuple[str, str]:
    """``"loss/train"`` -> ``("loss", "train")``; ``"loss"`` -> ``("loss", "loss")``."""
    text = str(tag)
    title, _, series = text.rpartition("/")
    return (title, series) if title else (text, text)


def _array(value: Any) -> Any:
    import numpy as np  # every TensorBoard writer needs numpy

    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _step(patcher: Patcher, step: Any, title: str, series: str) -> int:
    return int(step) if step is not None else patcher.next_iteration(title, series)


def _hwc(image: Any, dataformats: str) -> Any:
    """An image array laid out ``dataformats`` (CHW, HWC, HW, ...) as H x W (x C)."""
    array = _array(image)
    layout = dataformats.upper()
    if array.ndim == 3 and layout.endswith("CHW"):
        array = array.transpose(1, 2, 0)
    return array


def _scalar(patcher: Patcher, task: TaskLike, a: Mapping[str, Any]) -> None:
    from taskmill.api.logger import Logger

    title, series = split_tag(a["tag"])
    value = float(_array(a["scalar_value"]).reshape(-1)[0])
    Logger(task).report_scalar(title, series, value, _step(patcher, a.get("global_step"), title, series))


def _scalars(patcher: Patcher, task: TaskLike, a: Mapping[str, Any]) -> None:
    from taskmill.api.logger import Logger

    logger, title = Logger(task), str(a["main_tag"])
    for series, value in dict(a["tag_scalar_dict"]).items():
        step = _step(patcher, a.get("global_step"), title, str(series))
        logger.report_scalar(title, str(series), float(_array(value).reshape(-1)[0]), step)


def _histogram(patcher: Patcher, task: TaskLike, a: Mapping[str, Any]) -> None:
    import numpy as np

    from taskmill.api.logger import Logger

    title, series = split_tag(a["tag"])
    bins = a.get("bins")
    values = _array(a["values"]).astype(float).reshape(-1)
    count = bins if isinstance(bins, int) else min(int(a.get("max_bins") or DEFAULT_BINS), DEFAULT_BINS)
    counts, edges = np.histogram(values, bins=count)
    centres = [f"{(lo + hi) / 2:.4g}" for lo, hi in itertools.pairwise(edges)]
    step = _step(patcher, a.get("global_step"), title, series)
    Logger(task).report_histogram(title, series, counts.tolist(), step, xlabels=centres)


def _image(patcher: Patcher, task: TaskLike, a: Mapping[str, Any]) -> None:
    from taskmill.api.logger import Logger

    title, series = split_tag(a["tag"])
    image = _hwc(a["img_tensor"], str(a.get("dataformats") or "CHW"))
    Logger(task).report_image(title, series, _step(patcher, a.get("global_step"), title, series), image=image)


def _images(patcher: Patcher, task: TaskLike, a: Mapping[str, Any]) -> None:
    import numpy as np

    from taskmill.api.logger import Logger

    title, series = split_tag(a["tag"])
    layout = str(a.get("dataformats") or "NCHW").upper()
    batch = _array(a["img_tensor"])
    one = layout[1:] if layout.startswith("N") else layout
    row = np.concatenate([_hwc(image, one) for image in batch], axis=1)
    Logger(task).report_image(title, series, _step(patcher, a.get("global_step"), title, series), image=row)


def _figure(patcher: Patcher, task: TaskLike, a: Mapping[str, Any]) -> None:
    from taskmill.api.logger import Logger

    title, series = split_tag(a["tag"])
    figures = a["figure"] if isinstance(a["figure"], list) else [a["figure"]]
    step = _step(patcher, a.get("global_step"), title, series)
    for n, figure in enumerate(figures):
        name = series if len(figures) == 1 else f"{series}_{n}"
        Logger(task).report_matplotlib_figure(title, name, figure, step)


def _text(patcher: Patcher, task: TaskLike, a: Mapping[str, Any]) -> None:
    from taskmill.api.logger import Logger

    Logger(task).report_text(f"{a['tag']}: {a['text_string']}", print_console=False)


#: writer method -> how it is reported; add_figure reports before the writer closes the figure
METHODS: Mapping[str, tuple[Reporter, bool]] = {
    "add_scalar": (_scalar, False),
    "add_scalars": (_scalars, False),
    "add_histogram": (_histogram, False),
    "add_image": (_image, False),
    "add_images": (_images, False),
    "add_figure": (_figure, True),
    "add_text": (_text, False),
}


def _method(patcher: Patcher, report: Reporter, first: bool) -> Make:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)

        def method(*args: Any, **kwargs: Any) -> Any:
            def send(task: TaskLike, _: Any) -> None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                report(patcher, task, bound.arguments)

            if first:
                return patcher.call(original, args, kwargs, before=send)
            return patcher.call(original, args, kwargs, after=send)

        return method

    return make


def _bind_writer(writer: type, patcher: Patcher) -> None:
    for name, (report, first) in METHODS.items():
        patcher.replace(writer, name, _method(patcher, report, first))


def _bind_writer_of(module: ModuleType, patcher: Patcher) -> None:
    _bind_writer(module.SummaryWriter, patcher)


BINDINGS = (
    Binding("tensorboard", "torch.utils.tensorboard", _bind_writer_of),
    Binding("tensorboard", "tensorboardX", _bind_writer_of),
)
