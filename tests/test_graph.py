"""The system graph: derived from the model, checked, and drawn."""

from __future__ import annotations

import networkx as nx
import pytest

from helpers import MODELS
from sim.config.loader import load_model
from sim.config.model import SystemModel
from sim.config.graph import ASYNC, CONTRIBUTORS, SYNC, add_component, build_graph, graph_problems, link


def _edges(g: nx.DiGraph) -> set[tuple[str, str, str]]:
    return {(u, v, mode) for u, v, mode in g.edges(data="mode")}


def test_async_model_hands_orders_over_a_topic_consumed_by_the_executor_group():
    g = build_graph(load_model(MODELS / "async-kafka.yaml"))
    assert {
        ("checkout", "payment_service", SYNC), ("payment_service", "topic:payment-orders", ASYNC),
        ("topic:payment-orders", "executor", ASYNC), ("executor", "psp", SYNC), ("psp", "scheme", SYNC),
        ("scheme", "bank", SYNC), ("psp", "payment_service", ASYNC),
        ("payment_service", "topic:payment-success", ASYNC), ("topic:payment-success", "wallet", ASYNC),
        ("topic:payment-success", "ledger", ASYNC),
    } <= _edges(g)
    assert ("payment_service", "executor") not in g.edges
    groups = {(u, data["group"]) for u, _, data in g.edges(data=True) if data.get("group")}
    assert groups == {("topic:payment-orders", "executor"), ("topic:payment-success", "wallet"),
                      ("topic:payment-success", "ledger")}
    assert g.nodes["executor"]["instances"] == 3 and g.nodes["topic:payment-orders"]["detail"] == "12 partitions"
    assert graph_problems(load_model(MODELS / "async-kafka.yaml")) == []


def test_sync_model_calls_the_executor_and_has_no_orders_topic():
    g = build_graph(load_model(MODELS / "sync-http.yaml"))
    assert ("payment_service", "executor", SYNC) in _edges(g)
    assert "topic:payment-orders" not in g
    assert nx.has_path(g, "checkout", "bank")
    assert g.nodes["executor"]["detail"] == "16 threads"


def test_instance_counts_and_partitions_follow_the_model():
    model = load_model(MODELS / "async-kafka.yaml", {"executor.instances": 7, "kafka.topics.payment-orders.partitions": 5,
                                                     "banks.count": 9})
    g = build_graph(model)
    assert (g.nodes["executor"]["instances"], g.nodes["topic:payment-orders"]["detail"],
            g.nodes["bank"]["instances"]) == (7, "5 partitions", 9)


@pytest.fixture
def extra_contributor(monkeypatch):
    """Append a contributor for one test, as issue-specific parts of a design would."""
    def add(contributor):
        monkeypatch.setattr("sim.config.graph.CONTRIBUTORS", CONTRIBUTORS + [contributor])
    return add


def test_a_topic_without_consumer_group_is_reported(extra_contributor):
    from sim.config.graph import add_topic

    def retry_topic(model, g):
        add_topic(g, model, "payment-orders-retry-1", at=(3, -1))
        link(g, "executor", "topic:payment-orders-retry-1", ASYNC, "retry later")

    extra_contributor(retry_topic)
    messages = [p.message for p in graph_problems(SystemModel(name="m"))]
    assert messages == ["topic 'payment-orders-retry-1' has no consumer group"]


def test_a_synchronous_cycle_is_reported_but_an_asynchronous_one_is_not(extra_contributor):
    def callback(model, g):
        link(g, "psp", "executor", SYNC, "callback")

    extra_contributor(callback)
    [problem] = graph_problems(SystemModel(name="m"))
    assert problem.message.startswith("synchronous calls form a cycle (")
    assert "executor → psp" in problem.message or "psp → executor" in problem.message


def test_a_link_to_a_missing_component_is_reported_with_a_suggestion(extra_contributor):
    def secondary(model, g):
        add_component(g, "psp_b", "secondary PSP", kind="external", at=(4, 1))
        link(g, "psp_b", "schem", SYNC, "authorise")

    extra_contributor(secondary)
    [problem] = graph_problems(SystemModel(name="m"))
    assert "refers to 'schem', which is not a component of this model" in problem.message
    assert problem.hint == "did you mean 'scheme'?"


def test_the_checkout_must_reach_the_bank(monkeypatch):
    monkeypatch.setattr("sim.config.graph.CONTRIBUTORS", [c for c in CONTRIBUTORS if c.__name__ != "_charge_path"]
                        + [lambda model, g: add_component(g, "bank", "issuing banks", kind="external", at=(6, 0))])
    messages = [p.message for p in graph_problems(SystemModel(name="m"))]
    assert "the checkout cannot reach the issuing bank: no path of calls or messages" in messages


def test_a_declared_topic_nobody_uses_is_reported_with_its_key_path():
    model = SystemModel(name="m", kafka={"topics": {"payment-orders": {}, "payment-succes": {}}})
    [problem] = graph_problems(model)
    assert problem.loc == ("kafka", "topics", "payment-succes")
    assert problem.hint == "did you mean 'payment-success'?"


def test_the_drawing_shows_flow_styles_and_instance_counts(tmp_path):
    from sim.reports.system_graph import draw

    written = draw(build_graph(load_model(MODELS / "async-kafka.yaml")), tmp_path / "async")
    png, svg = written
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    text = svg.read_text()
    for label in ("payment executor ×3", "payment service ×2", "issuing banks ×4", "payment-orders",
                  "dead letter", "webhook", "synchronous call"):
        assert label in text, label
    assert "stroke-dasharray" in text  # asynchronous edges are dashed
    assert draw(build_graph(load_model(MODELS / "async-kafka.yaml")), tmp_path / "again")[1].read_text() == text


@pytest.mark.parametrize("model", ["async-kafka.yaml", "sync-http.yaml", "dual-psp.yaml", "retry-topics.yaml"])
def test_edge_labels_cover_no_box_and_no_other_label(model):
    """Each edge's label sits on its own arrow where it hides no component and no other label (a
    short edge leaving a wide box used to put its label on the box: "charge, timeout 3s" over the
    executor), and the arcs going back over the top row stay inside the picture."""
    from sim.reports.system_graph import figure

    fig = figure(build_graph(load_model(MODELS / model)))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    [ax] = fig.axes
    texts = [t for t in ax.texts if t.get_bbox_patch() is not None]
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in texts if t.get_fontsize() == 10]
    labels = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_fontsize() == 9]
    assert len(boxes) == len(build_graph(load_model(MODELS / model)).nodes) and labels
    for name, extent in labels:
        assert not any(extent.overlaps(box) for box in boxes), name
    for index, (name, extent) in enumerate(labels):
        assert not any(extent.overlaps(other) for _, other in labels[index + 1:]), name
    frame = fig.bbox
    for arrow in (a for a in ax.texts if a.get_bbox_patch() is None):
        extent = arrow.arrow_patch.get_window_extent(renderer)
        assert frame.y0 <= extent.y0 and extent.y1 <= ax.title.get_window_extent(renderer).y0, arrow.arrow_patch
