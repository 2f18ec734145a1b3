"""The chaos catalogue: what can break (specs), and how a break is applied to a running world."""
