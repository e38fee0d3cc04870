"""Settings of a centre: schema, TOML loading and validation, the built-in demo centre."""

from config.loader import ConfigError, load_settings
from config.model import Settings

__all__ = ["ConfigError", "Settings", "load_settings"]
