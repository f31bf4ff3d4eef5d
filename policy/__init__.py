"""The policy pack: the immutability rules, checked on every `pulumi preview --policy-pack policy` (docs/day-two.md)."""
