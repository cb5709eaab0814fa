"""Declarative playbook content (content/*.toml) and the demo-data builder (demo/)."""
