"""The reference NPU's ISA: one table (isa.yaml) and what is generated from it."""
