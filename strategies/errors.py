"""Error types (spelled as in Harness) and the exception executors raise to name one."""

from __future__ import annotations

from enum import StrEnum


class ErrorType(StrEnum):
    UNKNOWN = "Unknown"
    AUTHENTICATION = "Authentication"
    AUTHORIZATION = "Authorization"
    CONNECTIVITY = "Connectivity"
    TIMEOUT = "Timeout"
    VERIFICATION = "Verification"
    DELEGATE_PROVISIONING = "DelegateProvisioning"
    POLICY_EVALUATION_FAILURE = "PolicyEvaluationFailure"
    INPUT_TIMEOUT_ERROR = "InputTimeoutError"
    APPROVAL_REJECTION = "ApprovalRejection"
    DELEGATE_RESTART = "DelegateRestart"
    USER_MARKED_FAILURE = "UserMarkedFailure"


ALL_ERRORS = "AllErrors"
"""Stands for every error type the same level does not name."""

ERROR_TYPES: tuple[ErrorType, ...] = tuple(ErrorType)
ERROR_TYPE_NAMES: frozenset[str] = frozenset(e.value for e in ErrorType) | {ALL_ERRORS}


class StepError(Exception):
    """Raised by an executor (or a user's Python step) to fail with a named error type.

    ``raise StepError("Connectivity", "db refused")`` fails the step with error type Connectivity.
    """

    def __init__(self, error_type: ErrorType | str, message: str = "") -> None:
        self.error_type = ErrorType(error_type)
        self.message = message or self.error_type.value
        super().__init__(self.message)
