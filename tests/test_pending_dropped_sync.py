"""Issue 18's "possible model bug": a PENDING charge the PSP dropped (its bank errored), found
NOT_FOUND by the executor's status poll, re-executed, and the re-execution's attempts ran out.

With payment-service retries (sync wiring), the executor leaves an exhausted order to its caller;
the poll's re-execution has no caller, so the order stayed EXECUTING for the rest of the run and
the in-flight monitor, which only applies definite answers, could not settle a key the PSP no
longer knows. The model was at fault, not the design: the poll now dead-letters such an order.
"""

from __future__ import annotations

from helpers import scenario, verdict

from sim.runners.run import run_scenario

IMMEDIATE = {"strategy": "immediate", "max_attempts": 3}
FOUR_LAYERS = {"client.retry": IMMEDIATE, "payment_service.executor_retry": IMMEDIATE,
               "executor.retry": IMMEDIATE, "psp.bank_retry": IMMEDIATE}


def test_a_dropped_pending_charge_whose_retries_run_out_is_dead_lettered_not_left_executing(tmp_path):
    faults = [{"kind": "psp_pending_storm", "at": "0s", "for": "5s", "probability": 1.0},
              {"kind": "bank_errors", "at": "0s", "for": "300s", "probability": 1.0}]
    loaded = scenario(tmp_path, "sync-http.yaml", seed=1, duration="300s", drain="1h", overrides=FOUR_LAYERS,
                      workload={"rate": "1/s", "max_checkouts": 3, "buyers": 10, "sellers": 3}, faults=faults)
    result = run_scenario(loaded, explain=False)
    counters, outcomes = result.data["counters"], result.data["summary"]["outcomes"]
    assert counters["executor.pending_forgotten"] >= 1  # the path under test was taken
    assert outcomes["EXECUTING"] == 0 and outcomes["DEAD_LETTERED"] >= 1
    assert verdict(result, "nothing_lost")["passed"] and result.passed
