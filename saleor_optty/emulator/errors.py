"""The one error type the emulator's API answers with."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer in Optty's NestJS shape: ``{"statusCode": ..., "message": ...}``."""

    # NestJS adds an "error" phrase to some answers; Optty's docs show it on 401s.
    _PHRASES = {401: "Unauthorized"}

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"statusCode": self.status, "message": self.message}
        if self.status in self._PHRASES:
            body["error"] = self._PHRASES[self.status]
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def order_not_found() -> ApiError:
    return ApiError(404, "Order not found")
