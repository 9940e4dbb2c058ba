"""Attachments: files on disk named by their SHA-256, metadata in the database.

The type is decided from the file's first bytes, not from what the client claims, and only
photos, videos and PDF documents are accepted (Art. 18: photos or videos of the handling).
"""
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from runtime import history
from runtime.db import on_rollback
from runtime.errors import InvalidInput

from .models import Attachment

SIGNATURES = [  # (offset, magic bytes, content type)
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF8", "image/gif"),
    (8, b"WEBP", "image/webp"),
    (4, b"ftyp", "video/mp4"),  # mp4 / mov / 3gp family
    (0, b"%PDF-", "application/pdf"),
]


def sniff(head: bytes) -> str | None:
    for offset, magic, content_type in SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return content_type
    return None


@dataclass(frozen=True)
class Upload:
    """A file being uploaded, handed to the engine call that stores it in its own unit of work."""
    root: Path
    filename: str
    stream: object
    max_bytes: int

    def store(self, session, appeal_id: int, user) -> Attachment:
        return store(session, self.root, appeal_id, self.filename, self.stream, user, self.max_bytes)


def store(session, root: Path, appeal_id: int, filename: str, stream, user, max_bytes: int) -> Attachment:
    """Write the upload under root/ab/abcdef..., deduplicated by content. Raises InvalidInput."""
    root.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(dir=root, delete=False) as tmp:
        head = b""
        while chunk := stream.read(1 << 16):
            size += len(chunk)
            if size > max_bytes:
                tmp.close()
                os.unlink(tmp.name)
                raise InvalidInput("file too large", {"file": [f"文件不能超过 {max_bytes // (1 << 20)} MB"]})
            if len(head) < 16:
                head += chunk[:16]
            digest.update(chunk)
            tmp.write(chunk)
    content_type = sniff(head)
    if size == 0:  # not a wrong type: nothing arrived (a phone's failed pick, a file still syncing)
        os.unlink(tmp.name)
        raise InvalidInput("empty file", {"file": ["文件是空的（0 字节），请重新选择"]}, "empty_file")
    if content_type is None:
        os.unlink(tmp.name)
        raise InvalidInput("unsupported file type", {"file": ["仅支持照片（JPEG/PNG/GIF/WebP）、视频（MP4）和 PDF"]})
    sha = digest.hexdigest()
    target = path_for(root, sha)
    target.parent.mkdir(exist_ok=True)
    if not target.exists():  # new content: gone again if the unit of work does not commit
        on_rollback(session, lambda: target.unlink(missing_ok=True))
    os.replace(tmp.name, target)
    attachment = Attachment(appeal_id=appeal_id, sha256=sha, filename=Path(filename or "file").name[:200],
                            content_type=content_type, size=size, uploaded_by_id=user.id)
    session.add(attachment)
    session.flush()
    history.record(session, "attachment_uploaded", business_key=appeal_id, actor_id=user.id,
                   detail={"attachment_id": attachment.id, "filename": attachment.filename, "size": size,
                           "content_type": content_type, "sha256": sha})
    return attachment


def path_for(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def all_belong(session, appeal_id: int, attachment_ids) -> bool:
    """Do these attachment ids all name files of this appeal? (Forms refer to evidence by id.)"""
    ids = set(attachment_ids or [])
    if not ids:
        return True
    found = set(session.scalars(select(Attachment.id).where(Attachment.id.in_(ids), Attachment.appeal_id == appeal_id)))
    return found == ids
