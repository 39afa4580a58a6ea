"""Tracker emulators: test and demo equipment, one package per tracker. Production code never imports them."""
