"""The configuration's YAML text: libyaml's emitter writes what PyYAML's pure-Python one writes."""

import yaml

from sim.config.loader import load_scenario, resolved_config
from sim.config.yaml_writer import SAFE_DUMPER, yaml_text
from tests.helpers import ROOT


def test_pyyaml_here_has_libyaml_so_reports_use_its_emitter():
    assert SAFE_DUMPER is yaml.CSafeDumper  # the wheels carry it; without it a report is only slower


def test_the_c_emitter_writes_the_same_text_as_the_pure_python_one_for_every_shipped_configuration():
    checked = 0
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        loaded = load_scenario(path)
        for variant in [None, *loaded.scenario.variants]:
            config = resolved_config(loaded, variant)
            for width in (None, 100):
                assert yaml_text(config, width) == yaml_text(config, width, dumper=yaml.SafeDumper), (path.name, variant)
                checked += 1
    assert checked >= 100
