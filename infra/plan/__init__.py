"""Offline plan: evaluate the program under Pulumi's mock runtime, check invariants, render and diff plans."""
