"""Blueprints, one per area: ``auth`` (sign in and out, language), ``search``, ``archives``."""
