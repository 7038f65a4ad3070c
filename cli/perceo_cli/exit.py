"""Exit codes of the `perceo` command. Documented in the README; CI scripts depend on them."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    #: Something failed: a store or API could not be reached, an unexpected error.
    ERROR = 1
    #: Bad usage or bad input: unknown option, invalid config, invalid git ref.
    USAGE = 2
    #: `ci analyze --fail-on`: the change's risk is at or above the threshold.
    RISK = 3
    #: `ci test`, `ci report`, `flows run`: a test or a flow failed (or could not run: an error).
    TESTS_FAILED = 4
    #: `ci analyze`: changed source files reach no route (or no route was found), so the analysis cannot tell
    #: what they affect; `--allow-unmapped` accepts that.
    UNMAPPED = 5
    #: A git call ran past its timeout (`observer.git.localTimeoutSeconds`), or a fetch from the remote did
    #: (`ci analyze --deepen`: `observer.git.fetchTimeoutSeconds`). The message says what to do.
    TIMEOUT = 6
    #: Interrupted by Ctrl-C.
    INTERRUPTED = 130
