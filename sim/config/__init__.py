"""Typed, frozen configuration: the system model and the scenario played against it."""
