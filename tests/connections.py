"""A stand-in for the socket under uvicorn's protocol, for tests that feed it bytes directly."""

from __future__ import annotations

from typing import Any


class Transport:
    """What uvicorn's protocol writes to a connection, kept (an asyncio transport's surface)."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass
