"""Errors as {"error": code, "message": text in the caller's language, "details": ...}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from callcenter.domain.errors import DomainError
from callcenter.errors import AppError, Language

log = logging.getLogger(__name__)

_GENERIC: dict[str, tuple[str, str]] = {
    "validation-failed": ("请求参数无效", "the request is not valid"),
    "malformed-json": ("请求体不是合法的 JSON", "the request body is not valid JSON"),
    "not-found": ("资源不存在", "not found"),
    "method-not-allowed": ("不支持该请求方法", "method not allowed"),
    "http-error": ("请求失败", "request failed"),
    "internal-error": ("服务器内部错误，已记录", "internal server error; it has been logged"),
}


def language_of(request: Request, default: Language = "zh-CN") -> Language:
    """Pick zh-CN or en from the Accept-Language header, in the caller's order."""
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";", 1)[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details if details is not None else {}}


def _generic(request: Request, code: str, status: int, details: Any = None) -> JSONResponse:
    zh, en = _GENERIC[code]
    message = zh if _language(request) == "zh-CN" else en
    return JSONResponse(error_body(code, message, details), status_code=status)


def _language(request: Request) -> Language:
    default: Language = getattr(request.app.state, "default_language", "zh-CN")
    return language_of(request, default)


def _coded(
    request: Request, code: str, status: int, message: str, details: dict[str, Any]
) -> JSONResponse:
    """An error with a stable code; ``reason_*`` details only feed the message."""
    shown = {k: v for k, v in details.items() if not k.startswith("reason_")}
    return JSONResponse(error_body(code, message, jsonable_encoder(shown)), status_code=status)


def _clean(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors without echoing whole inputs (which may be large or secret)."""
    cleaned = []
    for error in errors:
        cleaned.append(
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "type": error.get("type", ""),
                "msg": error.get("msg", ""),
            }
        )
    return cleaned


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return _coded(request, exc.code, exc.status, exc.message(_language(request)), exc.details)

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return _coded(request, exc.code, exc.status, exc.message(_language(request)), exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean(list(exc.errors()))
        if any(e["type"] == "json_invalid" for e in errors):
            return _generic(request, "malformed-json", 400, {"errors": errors})
        return _generic(request, "validation-failed", 422, {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        response = _generic(request, code, exc.status_code)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _generic(request, "internal-error", 500)
