"""The chaos catalogue at run time: how each fault kind is applied to a running world and undone
(its parameters, schedule and valid targets are configuration: ``sim.config.fault_specs``,
``sim.config.fault_schedule``, ``sim.config.fault_targets``)."""
