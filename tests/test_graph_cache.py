"""The system graph picture is drawn once per model and copied from the cache afterwards."""

from __future__ import annotations

from helpers import MODELS

from sim.config.loader import load_model
from sim.graph import build_graph
from sim.reports.system_graph import draw
from sim.runners.graph_cache import graph_key, system_graph_files


def _drawer(calls: list):
    def draw_model(config: dict, out):
        calls.append(config["name"])
        from sim.config.model import SystemModel
        draw(build_graph(SystemModel.model_validate(config)), out)
    return draw_model


def test_a_model_is_drawn_once_and_the_copies_are_identical(tmp_path):
    config = load_model(MODELS / "async-kafka.yaml").model_dump(mode="json", by_alias=True)
    calls: list = []
    cache = tmp_path / "cache"
    for index in range(3):
        (tmp_path / str(index)).mkdir()
        system_graph_files(config, tmp_path / str(index) / "system_graph", _drawer(calls), cache)
    assert calls == [config["name"]]
    for suffix in (".png", ".svg"):
        pictures = {(tmp_path / str(i) / f"system_graph{suffix}").read_bytes() for i in range(3)}
        assert len(pictures) == 1 and len(next(iter(pictures))) > 1000


def test_another_model_misses_the_cache(tmp_path):
    config = load_model(MODELS / "async-kafka.yaml").model_dump(mode="json", by_alias=True)
    other = {**config, "executor": {**config["executor"], "instances": config["executor"]["instances"] + 1}}
    assert graph_key(config) != graph_key(other)
    calls: list = []
    for index, cfg in enumerate((config, other)):
        (tmp_path / str(index)).mkdir()
        system_graph_files(cfg, tmp_path / str(index) / "system_graph", _drawer(calls), tmp_path / "cache")
    assert len(calls) == 2
    assert (tmp_path / "0" / "system_graph.png").read_bytes() != (tmp_path / "1" / "system_graph.png").read_bytes()
