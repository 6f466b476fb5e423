"""The status a results row or a compile record carries, declared once. A row's status is either
one of the words below, or one of them followed by ": <why>" (skipped and failed always say why).
Standard library only: every layer reads it."""

MEASURED = "measured"
COMPILED = "compiled"
# A latency that was not measured but estimated without a device (an Edge TPU row of the estimate
# target): never mixed with measured rows.
ESTIMATED = "estimated"
SKIPPED = "skipped"
FAILED = "failed"
# Of one figure of a measured row (its accuracy_note): a latency measured, an accuracy not.
NOT_MEASURED = "not measured"


def skipped(reason):
    """The status of something that was not done, and why (no device, no compiler, ...)."""
    return f"{SKIPPED}: {reason}"


def failed(reason):
    """The status of something that was tried and did not work, and why."""
    return f"{FAILED}: {reason}"


def not_measured(reason):
    """Why a figure of a measured row was not measured (a detector's accuracy without a dataset)."""
    return f"{NOT_MEASURED}: {reason}"


def reason(status):
    """Why a skipped or failed status was so: the text after its word."""
    return status.split(": ", 1)[1] if ": " in status else ""


def is_measured(status):
    return status == MEASURED


def is_estimated(status):
    return status == ESTIMATED


def is_compiled(status):
    return status == COMPILED
