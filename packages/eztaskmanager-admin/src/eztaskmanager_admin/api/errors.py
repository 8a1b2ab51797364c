"""Errors of the API: raised anywhere in a view, answered as ``{"error": "<message>"}``."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


class ApiError(Exception):
    """A request the API refuses: its HTTP status, a message for people, and extra keys."""

    def __init__(self, status: int, message: Any, **extra: Any) -> None:
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": str(self.message), **self.extra}, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def bad_request(message: Any, **extra: Any) -> ApiError:
    return ApiError(400, message, **extra)


def not_allowed(message: Any) -> ApiError:
    return ApiError(403, message)


def not_found(message: Any) -> ApiError:
    return ApiError(404, message)


def conflict(message: Any, **extra: Any) -> ApiError:
    return ApiError(409, message, **extra)
