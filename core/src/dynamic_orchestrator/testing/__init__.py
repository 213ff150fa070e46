"""Test helpers for Dynamic Orchestrator and its provider plugins."""
