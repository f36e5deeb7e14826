"""The Logger's charts, images and media, called as ClearML code calls them (numpy inputs): what
each stores (``store.get_plots``), and the PNGs our own encoder writes, decoded here with zlib."""

from __future__ import annotations

import inspect
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taskmill import Task
from taskmill.api.logger import Logger
from taskmill.core.model import PlotRecord
from taskmill.store.base import TaskStore

#: ClearML's parameter names of each Logger method, in order (clearml.Logger).
CLEARML_PARAMETERS = {
    "report_histogram": (
        "title series values iteration labels xlabels xaxis yaxis mode data_args extra_layout"
    ),
    "report_vector": "title series values iteration labels xlabels xaxis yaxis mode extra_layout",
    "report_line_plot": "title series xaxis yaxis mode iteration reverse_xaxis comment extra_layout",
    "report_scatter2d": "title series scatter iteration xaxis yaxis labels mode comment extra_layout",
    "report_scatter3d": (
        "title series scatter iteration xaxis yaxis zaxis labels mode fill comment extra_layout"
    ),
    "report_surface": (
        "title series matrix iteration xaxis yaxis zaxis xlabels ylabels camera comment extra_layout"
    ),
    "report_confusion_matrix": (
        "title series matrix iteration xaxis yaxis xlabels ylabels yaxis_reversed comment extra_layout"
    ),
    "report_matrix": "title series matrix iteration xaxis yaxis xlabels ylabels yaxis_reversed extra_layout",
    "report_image": (
        "title series iteration local_path image matrix max_image_history delete_after_upload url"
    ),
    "report_media": (
        "title series iteration local_path stream file_extension max_history delete_after_upload url"
    ),
    "report_matplotlib_figure": "title series figure iteration report_image report_interactive",
    "set_default_upload_destination": "uri",
    "get_default_upload_destination": "",
}


@pytest.fixture
def task(tm_home: Path) -> Task:
    return Task.create(project_name="p", task_name="plots")


def plots(store: TaskStore, task: Task) -> list[PlotRecord]:
    return store.get_plots(task.id)


def only_plot(store: TaskStore, task: Task) -> PlotRecord:
    (plot,) = store.get_plots(task.id)
    return plot


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """``(width, height, colour type, pixels)`` of an 8-bit, non-interlaced, filter-0 PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: list[tuple[bytes, bytes]] = []
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, compression, filtering, interlace) == (8, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * {0: 1, 4: 2, 2: 3, 6: 4}[colour]
    lines = [raw[row * (stride + 1) : (row + 1) * (stride + 1)] for row in range(height)]
    assert len(raw) == height * (stride + 1) and all(line[0] == 0 for line in lines)  # filter type 0
    return width, height, colour, b"".join(line[1:] for line in lines)


def uploaded(store: TaskStore, task: Task, name: str) -> bytes:
    (record,) = [a for a in store.get_artifacts(task.id) if a.name == name]
    return Path(record.uri).read_bytes()


def test_methods_have_clearml_signatures() -> None:
    for method, names in CLEARML_PARAMETERS.items():
        params = list(inspect.signature(getattr(Logger, method)).parameters)[1:]
        assert params == names.split(), method
    image = inspect.signature(Logger.report_image).parameters
    assert image["iteration"].default is None and image["delete_after_upload"].default is False
    assert inspect.signature(Logger.report_scatter2d).parameters["mode"].default == "lines"
    assert inspect.signature(Logger.report_scatter3d).parameters["mode"].default == "markers"


def test_histogram_rows_are_series(task: Task, store: TaskStore) -> None:
    log = task.get_logger()
    log.report_histogram("hist", "s", values=np.array([3, 1, 2]), iteration=4, xaxis="bin", yaxis="count")
    fig = only_plot(store, task)
    assert (fig.title, fig.series, fig.iteration, fig.kind) == ("hist", "s", 4, "plotly")
    assert fig.data == {
        "data": [{"type": "bar", "name": "s", "x": [0, 1, 2], "y": [3, 1, 2]}],
        "layout": {
            "title": "hist",
            "xaxis": {"title": "bin"},
            "yaxis": {"title": "count"},
            "barmode": "group",
        },
    }
    # ClearML's example: a 2 x 5 array with a label per row, bars at xlabels
    log.report_histogram(
        "two", "s", values=np.arange(10).reshape(2, 5), labels=["A", "B"], xlabels=list("abcde"), mode="stack"
    )
    traces = plots(store, task)[1].data["data"]
    assert [(t["name"], t["x"], t["y"]) for t in traces] == [
        ("A", list("abcde"), [0, 1, 2, 3, 4]),
        ("B", list("abcde"), [5, 6, 7, 8, 9]),
    ]
    assert plots(store, task)[1].data["layout"]["barmode"] == "stack"
    # labels naming the columns of an N x 2 array: a trace per column
    log.report_vector(
        "vec", "s", values=np.array([[1.0, 10.0], [2.0, 20.0], [np.nan, 30.0]]), labels=["a", "b"]
    )
    traces = plots(store, task)[2].data["data"]
    assert [(t["name"], t["y"]) for t in traces] == [("a", [1.0, 2.0, None]), ("b", [10.0, 20.0, 30.0])]
    with pytest.raises(ValueError, match="xlabels has 2 labels for 3 bars"):
        log.report_histogram("bad", "s", values=[1, 2, 3], xlabels=["a", "b"])
    with pytest.raises(ValueError, match="histogram values must be a 1-D or 2-D array of numbers"):
        log.report_histogram("bad", "s", values=np.zeros((2, 2, 2)))


def test_line_plot_and_scatter2d(task: Task, store: TaskStore) -> None:
    log = task.get_logger()
    xs = np.arange(4, dtype=np.float32)
    series = [
        Logger.SeriesInfo(name="sq", data=np.column_stack([xs, xs**2])),
        {"name": "lin", "data": [(0, 1), (1, np.float64("nan"))], "labels": ["p", "q"]},
    ]
    log.report_line_plot("lines", series, xaxis="x", yaxis="y", iteration=2, reverse_xaxis=True, comment="c")
    plot = only_plot(store, task)
    assert (plot.series, plot.iteration) == ("sq", 2)
    assert plot.data == {
        "data": [
            {
                "type": "scatter",
                "name": "sq",
                "x": [0.0, 1.0, 2.0, 3.0],
                "y": [0.0, 1.0, 4.0, 9.0],
                "mode": "lines",
                "text": None,
            },
            {
                "type": "scatter",
                "name": "lin",
                "x": [0, 1],
                "y": [1, None],
                "mode": "lines",
                "text": ["p", "q"],
            },
        ],
        "layout": {
            "title": "lines",
            "xaxis": {"title": "x", "autorange": "reversed"},
            "yaxis": {"title": "y"},
        },
    }
    log.report_scatter2d(
        "roc",
        "model",
        scatter=[(0, 0), (0.5, 0.8), (1, 1)],
        iteration=1,
        labels=["a", "b", "c"],
        mode="markers",
    )
    trace = plots(store, task)[1].data["data"][0]
    assert trace == {
        "type": "scatter",
        "name": "model",
        "x": [0, 0.5, 1],
        "y": [0, 0.8, 1],
        "mode": "markers",
        "text": ["a", "b", "c"],
    }
    with pytest.raises(ValueError, match=r"scatter.* must be a list of 2-tuples or an N x 2 array"):
        log.report_scatter2d("roc", "bad", scatter=np.zeros((3, 3)))


def test_scatter3d_and_surface(task: Task, store: TaskStore) -> None:
    log = task.get_logger()
    log.report_scatter3d("cloud", "s", scatter=np.array([[1, 2, 3], [4, 5, 6]]), zaxis="z", labels=["a", "b"])
    log.report_scatter3d("clouds", "s", scatter=[[[0, 0, 0], [1, 1, 1]], [[2, 2, 2]]], mode="lines")
    log.report_surface(
        "surface", "s", matrix=np.eye(2), xaxis="x", xlabels=["a", "b"], camera=(1.5, 1, 0.5), comment="c"
    )
    one, many, surface = plots(store, task)
    assert one.data["data"] == [
        {
            "type": "scatter3d",
            "name": "s",
            "x": [1, 4],
            "y": [2, 5],
            "z": [3, 6],
            "mode": "markers",
            "text": ["a", "b"],
        }
    ]
    assert one.data["layout"]["scene"]["zaxis"] == {"title": "z"}
    assert [(t["name"], t["x"]) for t in many.data["data"]] == [("s 0", [0, 1]), ("s 1", [2])]
    assert surface.data["data"] == [{"type": "surface", "name": "s", "z": [[1.0, 0.0], [0.0, 1.0]]}]
    scene = surface.data["layout"]["scene"]
    assert scene["xaxis"] == {"title": "x", "ticktext": ["a", "b"], "tickvals": [0, 1]}
    assert scene["camera"] == {"eye": {"x": 1.5, "y": 1.0, "z": 0.5}}


def test_confusion_matrix_and_matrix(task: Task, store: TaskStore) -> None:
    log = task.get_logger()
    matrix = np.array([[5, 1], [2, 7]], dtype=np.int64)
    log.report_confusion_matrix(
        "cm",
        "val",
        matrix,
        iteration=3,
        xaxis="predicted",
        yaxis="true",
        xlabels=["cat", "dog"],
        ylabels=["cat", "dog"],
    )
    log.report_matrix("m", "s", matrix=np.array([[0.5, np.inf]], dtype=np.float32), yaxis_reversed=True)
    cm, m = plots(store, task)
    assert (cm.kind, cm.iteration) == ("plotly", 3)
    assert cm.data == {
        "data": [
            {
                "type": "heatmap",
                "name": "val",
                "z": [[5, 1], [2, 7]],
                "x": ["cat", "dog"],
                "y": ["cat", "dog"],
            }
        ],
        "layout": {"title": "cm", "xaxis": {"title": "predicted"}, "yaxis": {"title": "true"}},
    }
    assert m.data["data"][0]["z"] == [[0.5, None]]
    assert m.data["layout"]["yaxis"] == {"title": "", "autorange": "reversed"}


@pytest.mark.parametrize(
    ("pixels", "colour", "expected"),
    [
        (np.arange(12, dtype=np.uint8).reshape(3, 4), 0, np.arange(12, dtype=np.uint8).reshape(3, 4)),
        (np.full((2, 3, 1), 9, dtype=np.uint8), 0, np.full((2, 3), 9, dtype=np.uint8)),
        (
            np.array([[[0.0, 0.5, 1.0], [1.0, 0.25, 0.0]]]),  # floats in [0, 1]
            2,
            np.array([[[0, 128, 255], [255, 64, 0]]], dtype=np.uint8),
        ),
        (np.random.default_rng(1).integers(0, 256, (5, 7, 4), dtype=np.uint8), 6, None),
    ],
)
def test_image_matrix_is_encoded_as_png(
    task: Task, store: TaskStore, pixels: Any, colour: int, expected: Any
) -> None:
    task.get_logger().report_image("samples", "digit", iteration=3, matrix=pixels)
    plot = only_plot(store, task)
    assert (plot.kind, plot.iteration) == ("image", 3)
    assert plot.data == {"artifact": "debug/samples/digit/3", "url": "", "format": "png"}
    width, height, colour_type, data = decode_png(uploaded(store, task, "debug/samples/digit/3"))
    assert (width, height, colour_type) == (pixels.shape[1], pixels.shape[0], colour)
    assert data == (pixels if expected is None else expected).tobytes()


def test_image_from_array_or_pil_like_image(task: Task, store: TaskStore) -> None:
    class FakePil:
        """What report_image uses of a PIL image (Pillow is not a dependency)."""

        def __init__(self, mode: str) -> None:
            self.mode, self.size = mode, (2, 1)

        def convert(self, mode: str) -> FakePil:
            return FakePil(mode)

        def tobytes(self) -> bytes:
            return bytes([1, 2, 3, 4, 5, 6, 7, 8]) if self.mode == "RGBA" else bytes([1, 2])

    log = task.get_logger()
    log.report_image("pil", "gray", image=FakePil("L"))
    log.report_image("pil", "palette", image=FakePil("P"))  # converted to RGBA
    log.report_image("array", "bool", image=np.array([[True, False]]))
    assert decode_png(uploaded(store, task, "debug/pil/gray/0")) == (2, 1, 0, bytes([1, 2]))
    assert decode_png(uploaded(store, task, "debug/pil/palette/0")) == (2, 1, 6, bytes(range(1, 9)))
    assert decode_png(uploaded(store, task, "debug/array/bool/0")) == (2, 1, 0, bytes([255, 0]))


def test_image_file_url_and_delete_after_upload(task: Task, store: TaskStore, tmp_path: Path) -> None:
    log = task.get_logger()
    photo = tmp_path / "photo.JPG"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    log.report_image("photos", "a", iteration=1, local_path=str(photo), delete_after_upload=True)
    log.report_image("photos", "b", url="https://example.com/x/cat.png?size=2")
    file_plot, url_plot = plots(store, task)
    assert file_plot.data == {"artifact": "debug/photos/a/1", "url": "", "format": "jpg"}
    assert uploaded(store, task, "debug/photos/a/1") == b"\xff\xd8 not really a jpeg"  # as-is
    assert not photo.exists()
    assert url_plot.data == {"artifact": "", "url": "https://example.com/x/cat.png?size=2", "format": "png"}
    assert [a.name for a in store.get_artifacts(task.id)] == ["debug/photos/a/1"]
    with pytest.raises(FileNotFoundError, match="image file not found"):
        log.report_image("photos", "c", local_path=str(photo))


def test_image_needs_exactly_one_source(task: Task, store: TaskStore) -> None:
    log = task.get_logger()
    with pytest.raises(ValueError, match="needs exactly one of local_path, image, matrix, url; got none"):
        log.report_image("t", "s", local_path="", url="")
    with pytest.raises(ValueError, match="got image and matrix"):
        log.report_image("t", "s", image=np.zeros((2, 2)), matrix=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"an image is H x W or H x W x 1\.\.4 numbers"):
        log.report_image("t", "s", image=np.zeros((2, 2, 5)))
    with pytest.raises(ValueError, match="at least one pixel"):
        log.report_image("t", "s", matrix=np.zeros((0, 3), dtype=np.uint8))
    assert plots(store, task) == [] and store.get_artifacts(task.id) == []


def test_media_from_stream_file_or_url(task: Task, store: TaskStore, tmp_path: Path) -> None:
    log = task.get_logger()
    log.report_media("audio", "clip", iteration=2, stream=io.BytesIO(b"RIFF-wav"), file_extension=".WAV")
    log.report_media("notes", "txt", stream=io.StringIO("hello"), file_extension="txt")
    video = tmp_path / "run.mp4"
    video.write_bytes(b"mp4 bytes")
    log.report_media("video", "run", local_path=video)  # a Path works too
    log.report_media("video", "remote", url="https://example.com/v.webm")
    kinds = [(p.kind, p.data) for p in plots(store, task)]
    assert kinds == [
        ("media", {"artifact": "debug/audio/clip/2", "url": "", "format": "wav"}),
        ("media", {"artifact": "debug/notes/txt/0", "url": "", "format": "txt"}),
        ("media", {"artifact": "debug/video/run/0", "url": "", "format": "mp4"}),
        ("media", {"artifact": "", "url": "https://example.com/v.webm", "format": "webm"}),
    ]
    assert uploaded(store, task, "debug/audio/clip/2") == b"RIFF-wav"
    assert uploaded(store, task, "debug/notes/txt/0") == b"hello"
    assert uploaded(store, task, "debug/video/run/0") == b"mp4 bytes" and video.exists()
    with pytest.raises(ValueError, match="a stream needs file_extension"):
        log.report_media("audio", "x", stream=io.BytesIO(b"?"))
    with pytest.raises(
        ValueError, match="report_media needs exactly one of local_path, stream, url; got local_path and url"
    ):
        log.report_media("audio", "x", local_path=str(video), url="https://example.com/v.webm")


def test_matplotlib_figure_is_saved_as_png(task: Task, store: TaskStore) -> None:
    calls: list[dict[str, Any]] = []

    class Figure:
        """Stands in for a matplotlib Figure (or the pyplot module): only ``savefig`` is used."""

        def savefig(self, buffer: io.BytesIO, **kwargs: Any) -> None:
            calls.append(kwargs)
            buffer.write(b"\x89PNG fake figure")

    task.get_logger().report_matplotlib_figure("fig", "loss", Figure(), iteration=5, report_image=True)
    assert calls == [{"format": "png"}]
    plot = only_plot(store, task)
    assert (plot.kind, plot.iteration, plot.data) == (
        "image",
        5,
        {"artifact": "debug/fig/loss/5", "url": "", "format": "png"},
    )
    assert uploaded(store, task, "debug/fig/loss/5") == b"\x89PNG fake figure"


def test_upload_destination(task: Task, store: TaskStore, tmp_path: Path) -> None:
    log = task.get_logger()
    assert log.get_default_upload_destination() == task.output_uri
    target = tmp_path / "debug-samples"
    log.set_default_upload_destination(str(target))
    assert task.get_logger().get_default_upload_destination() == str(target)  # every logger of the task
    task.get_logger().report_image("img", "s", matrix=np.zeros((1, 1), dtype=np.uint8))
    (record,) = store.get_artifacts(task.id)
    assert Path(record.uri).is_relative_to(target) and Path(record.uri).suffix == ".png"
    other = Task.create(project_name="p", task_name="other")
    assert other.get_logger().get_default_upload_destination() == other.output_uri
