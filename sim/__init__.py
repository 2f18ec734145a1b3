"""paychaos: discrete-event simulation and chaos testing of online payment systems."""
