"""Faker for the population without Faker's start-up scan: the same generator, built from only
the providers asked for.

``import faker`` runs ``faker.config``, which imports every one of Faker's ~25 provider packages
and lists every locale directory of each: about a tenth of a second before a command's first
simulation (~300 M instructions, callgrind), for a population that draws from three en_US
providers. :func:`Faker` with ``providers`` builds what ``faker.Faker(locale, providers=...)``
builds (a ``Generator`` with those providers added in that order, each in the locale's module,
with the same attributes), so the same seed gives the same draws; without ``providers`` it is
``faker.Faker`` itself.

To import Faker's submodules without its package ``__init__`` (which imports ``faker.config``),
the package is registered unexecuted; its ``__init__`` runs on the first name asked of it
(``from faker import Faker`` anywhere later gets the real package, complete).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from types import ModuleType
from typing import Any

DEFAULT_LOCALE = "en_US"
"""Faker's own default (``faker.config.DEFAULT_LOCALE``): a provider without the asked locale uses it."""


def faker_package() -> ModuleType:
    """The ``faker`` package module: the one imported already, else registered without running
    its ``__init__``, which then runs on the first attribute the package is asked for."""
    module = sys.modules.get("faker")
    if module is not None:
        return module
    spec = importlib.util.find_spec("faker")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("No module named 'faker'", name="faker")
    module = importlib.util.module_from_spec(spec)

    def complete(name: str) -> Any:
        """Run the package's ``__init__`` (once), then answer as the real package does."""
        module.__dict__.pop("__getattr__", None)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return getattr(module, name)

    module.__dict__["__getattr__"] = complete
    sys.modules["faker"] = module
    return module


def lean_generator(locale: str, providers: list[str]) -> Any:
    """``faker.Faker(locale, providers=providers)``'s generator (``faker.factory.Factory.create``'s
    steps, weighting on): the same providers in the same order, so the same values from a seed."""
    from faker.generator import Generator

    config: dict[str, Any] = {"locale": locale, "use_weighting": True}  # Factory.create's, in its order
    generator = Generator(**config)
    for path in providers:
        module = importlib.import_module(path)
        lang = None
        if getattr(module, "localized", False):
            found = [name for _, name, is_package in pkgutil.iter_modules(module.__path__) if is_package]
            lang = locale if locale in found else (getattr(module, "default_locale", "") or DEFAULT_LOCALE)
            module = importlib.import_module(f"{path}.{lang}")
        provider = module.Provider(generator)
        provider.__use_weighting__ = True
        provider.__provider__ = path
        provider.__lang__ = lang
        generator.add_provider(provider)
    return generator


faker_package()
importlib.import_module("faker.generator")  # Faker's base, imported with the model as before; the providers when asked for


def Faker(locale: str = DEFAULT_LOCALE, providers: list[str] | None = None) -> Any:  # noqa: N802 (faker's name)
    """With ``providers``: :func:`lean_generator` (no scan of Faker's providers and locales);
    without: ``faker.Faker(locale)``, every provider."""
    if providers:
        return lean_generator(locale, providers)
    from faker import Faker as Full

    return Full(locale)
