"""Images through the content repository: m.image, encrypted (file + keys) in encrypted rooms."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

from nio import AsyncClient, UploadResponse

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Uploaded:
    content_uri: str
    keys: dict[str, Any] | None  # decryption info when the file was encrypted


class UploadFailed(Exception):
    pass


def png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or not data.startswith(_PNG_MAGIC) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


async def upload_png(client: AsyncClient, data: bytes, filename: str,
                     encrypt: bool) -> Any:
    return await upload(client, data, filename, "image/png", encrypt)


async def upload(client: AsyncClient, data: bytes, filename: str, mime: str,
                 encrypt: bool) -> Any:
    """One upload attempt; returns an Uploaded, or the error response for the paced sender."""
    resp, keys = await client.upload(io.BytesIO(data), content_type=mime,
                                     filename=filename, encrypt=encrypt, filesize=len(data))
    if not isinstance(resp, UploadResponse):
        return resp
    return Uploaded(resp.content_uri, keys)


def image_content(upload: Uploaded, data: bytes, filename: str) -> dict[str, Any]:
    info: dict[str, Any] = {"mimetype": "image/png", "size": len(data)}
    size = png_size(data)
    if size is not None:
        info["w"], info["h"] = size
    content: dict[str, Any] = {"msgtype": "m.image", "body": filename, "info": info}
    if upload.keys is not None:
        content["file"] = {**upload.keys, "url": upload.content_uri}
    else:
        content["url"] = upload.content_uri
    return content


def file_content(upload: Uploaded, data: bytes, filename: str, mime: str,
                 alt: str = "") -> dict[str, Any]:
    """Any attachment: m.image for a PNG, m.file otherwise; `alt` is the text for clients
    that show no files (and for screen readers)."""
    if mime == "image/png":
        content = image_content(upload, data, filename)
    else:
        content = {"msgtype": "m.file", "body": filename,
                   "info": {"mimetype": mime, "size": len(data)}}
        if upload.keys is not None:
            content["file"] = {**upload.keys, "url": upload.content_uri}
        else:
            content["url"] = upload.content_uri
    if alt:
        content["filename"], content["body"] = filename, alt  # MSC2530: body is the caption
    return content
