"""The failures mediamon expects, each told to a person in one line that names the problem and the fix.

The command line prints such an error as that line (a JSON object with `--json`) and exits with its `exit_code`:
1 for a failure at run time (Elasticsearch unreachable, a page that cannot be fetched), 2 for a usage or
configuration error (an unknown seed, a file that cannot be used, a bad setting), 130 when the person stopped the
command (Ctrl-C). Anything else is a bug and keeps its traceback.
"""


class MediamonError(Exception):
    """An expected failure; the message is the line the person reads, after its `label`."""

    exit_code = 1
    label = "error"


class ConfigError(MediamonError, ValueError):
    """A configuration file or setting that cannot be used; the message names the file and the entry."""

    exit_code = 2
    label = "configuration error"


class UsageError(MediamonError, ValueError):
    """A request that cannot be served as asked: an unknown seed or subscription, options that do not go together."""

    exit_code = 2


class Interrupted(MediamonError):
    """A command stopped by the person (Ctrl-C); the message says what became of the work it had begun."""

    exit_code = 130  # the shell's code for a process ended by SIGINT
    label = "interrupted"


class WorkerLost(MediamonError):
    """A helper process of a command ended abruptly (killed, out of memory); the message says where its work waits."""
