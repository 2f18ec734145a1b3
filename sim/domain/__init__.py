"""The payment domain: orders and checkouts as compact tables, the buyer/seller population."""
