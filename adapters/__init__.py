"""Thin adapters: translate platform events to core invocations and core output to messages."""
