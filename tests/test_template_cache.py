"""The report templates compiled once and kept (jinja2's bytecode cache): read back from the
cache on the next use, one folder per environment (their options change the compiled code)."""

from __future__ import annotations

from sim.reports import template_env


def _rendered() -> tuple[str, str]:
    template_env.html.cache_clear()
    template_env.markdown.cache_clear()
    context = {"items": ["<b>", "a & b"], "title": "x < y"}
    html = template_env.html().from_string("{{ title }}{% for i in items %}<li>{{ i }}</li>{% endfor %}")
    page = template_env.html().get_template("base.html.j2")
    md = template_env.markdown().get_template("compare.md.j2")
    return html.render(**context), page.filename + md.filename


def test_templates_come_from_the_cache_unchanged(tmp_path, monkeypatch):
    monkeypatch.setattr(template_env, "CACHE_DIR", tmp_path / "templates")
    fresh = _rendered()
    cached_files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.cache"))
    assert {p.parts[1] for p in cached_files} == {"html", "markdown"}  # each environment its own folder
    html_cache = template_env.html().bytecode_cache
    calls = []
    original = type(html_cache).load_bytecode
    monkeypatch.setattr(type(html_cache), "load_bytecode",
                        lambda self, bucket: (calls.append(bucket.key), original(self, bucket))[1])
    again = _rendered()
    assert again == fresh
    assert calls  # read back from the cache
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.cache")) == cached_files
    monkeypatch.undo()
    template_env.html.cache_clear()
    template_env.markdown.cache_clear()


def test_no_cache_where_its_folder_cannot_be_made(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(template_env, "CACHE_DIR", blocker / "templates")
    template_env.html.cache_clear()
    try:
        assert template_env.html().bytecode_cache is None
        assert template_env.html().from_string("{{ 1 + 1 }}").render() == "2"
    finally:
        template_env.html.cache_clear()
