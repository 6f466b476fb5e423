"""The project's own error for bad input, and the CLI wrapper that reports it in one line."""

import functools
import sys


class BadInput(Exception):
    """Input the user can fix: a corrupt file, a bad setting. The message names the culprit."""


class ConfigError(BadInput):
    """A config problem found while the workflow is planned; the message names the key."""


def first_line(error):
    """The first line of an exception's message (libraries often add pages of detail)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def reports_bad_input(main=None, *, status=1):
    """Run a CLI `main`, turning BadInput into one `error:` line on stderr and exit `status`.
    Used bare (@reports_bad_input) or with another status (@reports_bad_input(status=2))."""
    if main is None:
        return functools.partial(reports_bad_input, status=status)

    @functools.wraps(main)
    def wrapper(argv=None):
        try:
            return main(argv)
        except BadInput as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(status)

    return wrapper
