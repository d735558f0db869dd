"""Plain request/response values passed between the ASGI adapter and the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: bytes
    query_string: bytes
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str | None = None
    secure: bool = False

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> "HttpResponse":
        return cls(status, text.encode(), [("content-type", content_type)])
