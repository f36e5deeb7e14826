"""``taskmill.core.resources``: parsing a step's ``resources=`` and mapping it onto schedulers."""

from __future__ import annotations

import pytest

from taskmill.core.resources import (
    ResourceError,
    Resources,
    container_of,
    container_record,
    dask_resources,
    parse_memory,
    parse_resources,
    ray_options,
    resources_of,
    sbatch_options,
)

GI = 1024**3


def test_a_full_request_is_normalised_into_the_recorded_form() -> None:
    r = parse_resources({"cpu": 4, "memory": "16Gi", "gpu": 1})
    assert r == Resources(cpu=4.0, memory=16 * GI, gpu=1)
    assert r.to_record() == {"cpu": 4.0, "memory": 16 * GI, "gpu": 1}
    # the record reads back as the same request (what every launcher does)
    assert resources_of({"resources": r.to_record()}) == r
    assert resources_of({}) == Resources() and Resources().is_empty()
    assert parse_resources({"cpu": "500m"}).cpu == 0.5  # Kubernetes' millicores


@pytest.mark.parametrize(
    ("text", "size"),
    [("16Gi", 16 * GI), ("512M", 512 * 1000**2), ("2GB", 2 * 1000**3), ("1.5Ki", 1536), (4096, 4096)],
)
def test_memory_sizes(text: object, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ({"cpus": 4}, "unknown key(s) cpus"),
        ({"cpu": "four"}, "resources['cpu']='four'"),
        ({"cpu": 0}, "resources['cpu']=0: must be positive"),
        ({"cpu": float("inf")}, "resources['cpu']=inf"),
        ({"cpu": True}, "resources['cpu']=True"),
        ({"memory": "16 parsecs"}, "resources['memory']='16 parsecs'"),
        ({"memory": -1}, "resources['memory']=-1"),
        ({"gpu": 0.5}, "resources['gpu']=0.5"),
        ({"gpu": -1}, "resources['gpu']=-1"),
        ("cpu=4", "give a dict"),
    ],
)
def test_a_bad_value_names_the_key(value: object, names: str) -> None:
    with pytest.raises(ResourceError) as err:
        parse_resources(value)  # type: ignore[arg-type]
    assert names in str(err.value)


def test_sbatch_options() -> None:
    r = parse_resources({"cpu": 2.5, "memory": "1.5Gi", "gpu": 2})
    assert sbatch_options(r) == ["-c", "3", "--mem=1536M", "--gres=gpu:2"]
    assert sbatch_options(parse_resources({"memory": 1})) == ["--mem=1M"]  # rounded up, never 0
    assert sbatch_options(Resources()) == []
    assert sbatch_options(parse_resources({"gpu": 0})) == []


def test_dask_resources_pass_only_what_the_cluster_declares() -> None:
    r = parse_resources({"cpu": 4, "memory": "1Gi", "gpu": 1})
    assert dask_resources(r) == {"CPU": 4.0, "MEMORY": float(GI), "GPU": 1.0}
    assert dask_resources(r, declared=["GPU"]) == {"GPU": 1.0}
    assert dask_resources(r, declared=[]) == {}
    assert dask_resources(Resources()) == {}


def test_ray_options() -> None:
    r = parse_resources({"cpu": 0.5, "memory": "1Gi", "gpu": 1})
    assert ray_options(r) == {"num_cpus": 0.5, "num_gpus": 1, "memory": GI}
    assert ray_options(Resources()) == {}


def test_kubernetes_quantities() -> None:
    r = parse_resources({"cpu": 0.5, "memory": "16Gi", "gpu": 1})
    assert r.kubernetes_quantities() == {"cpu": "500m", "memory": "16384Mi", "nvidia.com/gpu": "1"}
    assert parse_resources({"cpu": 4}).kubernetes_quantities() == {"cpu": "4"}


def test_container_record_has_set_base_docker_shape_and_reads_back_split() -> None:
    record = container_record("python:3.12", "-e A=1 --ipc=host", "apt-get update\napt-get install -y git")
    assert record == {
        "image": "python:3.12",
        "arguments": ["-e A=1 --ipc=host"],
        "setup_script": ["apt-get update", "apt-get install -y git"],
    }
    assert container_of({"docker": record}) == (
        "python:3.12",
        ["-e", "A=1", "--ipc=host"],
        ["apt-get update", "apt-get install -y git"],
    )
    assert container_record(None) is None
    assert container_of({}) is None and container_of({"docker": {"image": ""}}) is None
    assert container_of({"docker": {"image": "", "arguments": ["--rm"]}}) == ("", ["--rm"], [])
    assert container_record("img", ["-e", "B=2"]) == {
        "image": "img",
        "arguments": ["-e", "B=2"],
        "setup_script": [],
    }
