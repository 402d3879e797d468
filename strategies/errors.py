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


class _TypedStepError(StepError):
    """A :class:`StepError` whose error type is fixed by its class: ``raise ConnectivityError("db down")``."""

    error_type_default: ErrorType = ErrorType.UNKNOWN

    def __init__(self, message: str = "") -> None:
        super().__init__(self.error_type_default, message)


class AuthenticationError(_TypedStepError):
    """Credentials missing or rejected (HTTP 401)."""

    error_type_default = ErrorType.AUTHENTICATION


class AuthorizationError(_TypedStepError):
    """Authenticated but not allowed (HTTP 403, ``PermissionError``)."""

    error_type_default = ErrorType.AUTHORIZATION


class ConnectivityError(_TypedStepError):
    """A peer could not be reached (refused, unreachable, DNS failure)."""

    error_type_default = ErrorType.CONNECTIVITY


class VerificationError(_TypedStepError):
    """A verification (health check, smoke test, metric analysis) did not pass."""

    error_type_default = ErrorType.VERIFICATION


class PolicyEvaluationError(_TypedStepError):
    """A policy check denied the step (error type ``PolicyEvaluationFailure``)."""

    error_type_default = ErrorType.POLICY_EVALUATION_FAILURE
