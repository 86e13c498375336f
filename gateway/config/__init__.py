"""Gateway configuration: typed schema, YAML loading with ${ENV} expansion, validation."""

from gateway.config.errors import ConfigError
from gateway.config.loader import default_config_path, load_config, parse_config
from gateway.config.schema import Config

__all__ = ["Config", "ConfigError", "default_config_path", "load_config", "parse_config"]
