"""The error every configuration file raises when it cannot be used: seeds, gazetteer, topic rules, timeline."""


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the entry."""
