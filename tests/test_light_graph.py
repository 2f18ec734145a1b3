"""The loader's system-graph check runs on a small graph of its own (``sim.config.light_graph``):
it must answer exactly as the same check on a ``networkx.DiGraph``."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings, strategies as st

from helpers import MODELS
from sim.config.graph import CONTRIBUTORS, SYNC, _built, graph_problems, link
from sim.config.light_graph import LightGraph, has_cycle, reachable
from sim.config.loader import load_model
from sim.config.model import SystemModel

MODEL_FILES = sorted(MODELS.glob("*.yaml")) + sorted((MODELS / "flawed").glob("*.yaml"))

edge_lists = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20)


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_every_model_builds_the_same_graph_light_or_networkx(path):
    model = load_model(path)
    light = _built(model, LightGraph(name=model.name, wiring=model.wiring))
    full = _built(model, nx.DiGraph(name=model.name, wiring=model.wiring))
    assert light.nodes(data=True) == list(full.nodes(data=True))
    assert light.edges(data=True) == list(full.edges(data=True))
    assert [light.in_degree(n) for n in light] == [full.in_degree(n) for n in full]
    assert graph_problems(model) == graph_problems(model, full)


def test_a_broken_design_gets_the_same_problems_on_both_graphs(monkeypatch):
    """A synchronous cycle and a link to a missing component, reported the same way."""
    def broken(model, g):
        link(g, "psp", "executor", SYNC, "callback")
        link(g, "scheme", "nowhere", SYNC, "lost")

    monkeypatch.setattr("sim.config.graph.CONTRIBUTORS", CONTRIBUTORS + [broken])
    model = SystemModel(name="m")
    light = graph_problems(model)
    assert [p.message.split(" (")[0] for p in light] == [
        "scheme → nowhere", "synchronous calls form a cycle"]
    assert light == graph_problems(model, _built(model, nx.DiGraph(name="m", wiring=model.wiring)))


@settings(max_examples=200, deadline=None)
@given(edge_lists, st.integers(0, 7), st.integers(0, 7))
def test_reachable_agrees_with_networkx(edges, source, target):
    g = nx.DiGraph(edges)
    g.add_nodes_from([source, target])
    assert reachable(edges, source, target) == nx.has_path(g, source, target)


@settings(max_examples=200, deadline=None)
@given(edge_lists)
def test_has_cycle_agrees_with_networkx(edges):
    assert has_cycle(edges) == (not nx.is_directed_acyclic_graph(nx.DiGraph(edges)))


@given(edge_lists)
def test_light_graph_keeps_networkx_orders_and_degrees(edges):
    light, full = LightGraph(), nx.DiGraph()
    for index, (u, v) in enumerate(edges):
        light.add_edge(u, v, n=index)
        full.add_edge(u, v, n=index)
    assert list(light) == list(full) and len(light) == len(full)
    assert light.edges(data="n") == list(full.edges(data="n"))
    assert all(light.out_edges(n, data=True) == list(full.out_edges(n, data=True)) for n in full)
    assert all(light.in_degree(n) == full.in_degree(n) for n in full)
