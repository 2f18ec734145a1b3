"""The pay-in flow, one component per module: checkout client → payment service (+ database,
risk) → Kafka → executor → PSP → card scheme → issuing bank, then wallet and ledger, the
dead-letter queue, the in-flight monitor and reconciliation."""
