"""The media file store (temporary file, fsync, rename; no path escapes) and its metadata table."""

import asyncio
import os

import pytest

from sceau.storage.media import MediaStore, ThumbnailRecord, Upload
from sceau.storage.media_files import MediaFileStore, new_media_id, valid_media_id


def test_new_media_ids_are_random_and_valid():
    ids = {new_media_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(valid_media_id(i) and len(i) == 24 for i in ids)


@pytest.mark.parametrize(
    "media_id",
    [
        "",
        "abc",
        "../../etc/passwd",
        "..",
        "a/b/c/d/e",
        "abcd\x00e",
        "abcde.png",
        "a" * 256,
        "é" * 8,
    ],
)
def test_media_ids_outside_the_safe_alphabet_are_refused_before_any_path_is_built(
    tmp_path, media_id
):
    files = MediaFileStore(tmp_path)
    assert not valid_media_id(media_id)
    with pytest.raises(ValueError):
        files.content_path(media_id)
    with pytest.raises(ValueError):
        files.thumbnail_path(media_id, 32, 32, "crop")


def test_content_paths_are_sharded_by_media_id_and_stay_inside_the_store(tmp_path):
    files = MediaFileStore(tmp_path)
    path = files.content_path("abcdefGHIJ_-")
    assert path == tmp_path / "local_content" / "ab" / "cd" / "efGHIJ_-"
    thumb = files.thumbnail_path("abcdefGHIJ_-", 96, 96, "crop")
    assert thumb == tmp_path / "thumbnails" / "ab" / "cd" / "efGHIJ_-" / "96x96-crop"
    with pytest.raises(ValueError):
        files.thumbnail_path("abcdefGHIJ_-", 96, 96, "../x")


def test_a_written_file_appears_whole_at_its_place_and_leaves_no_temporary_file(tmp_path):
    files = MediaFileStore(tmp_path)
    partial = files.new_file()
    assert partial.temp_path.parent == tmp_path / "tmp"
    partial.write(b"hello ")
    partial.write(b"world")
    final = files.content_path("abcdefgh")
    assert not final.exists(), "nothing is in place before place()"
    partial.place(final)
    assert final.read_bytes() == b"hello world"
    assert partial.size == 11
    assert partial.sha256 == "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_place_fsyncs_the_file_and_its_folder_before_renaming(tmp_path, monkeypatch):
    files = MediaFileStore(tmp_path)
    partial = files.new_file()
    partial.write(b"x")
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    partial.place(files.content_path("abcdefgh"))
    assert len(synced) == 2  # the file, then the folder it was renamed into


def test_a_discarded_file_leaves_nothing_behind(tmp_path):
    files = MediaFileStore(tmp_path)
    partial = files.new_file()
    partial.write(b"half an upload")
    partial.discard()
    assert list((tmp_path / "tmp").iterdir()) == []
    partial.discard()  # twice is harmless


def test_write_file_replaces_an_existing_file_atomically(tmp_path):
    files = MediaFileStore(tmp_path)
    path = files.thumbnail_path("abcdefgh", 32, 32, "crop")
    files.write_file(path, b"one")
    files.write_file(path, b"two")
    assert path.read_bytes() == b"two"
    assert files.stat(path).st_size == 3
    assert files.stat(tmp_path / "missing") is None


UPLOAD = Upload("image/png", "a.png", 3, "ab" * 32)


async def test_pending_media_is_claimed_once_and_the_file_placed_inside_the_claim(db):
    store = MediaStore(db)
    assert await store.insert_pending("pendingid", "@a:t", 1000, 2000, max_pending=5)
    placed: list[str] = []

    async def place() -> None:
        placed.append("yes")

    assert await store.complete_pending("pendingid", UPLOAD, 1500, place)
    assert not await store.complete_pending("pendingid", UPLOAD, 1600, place)
    assert placed == ["yes"]
    record = await store.get("pendingid")
    assert record is not None and record.uploaded and record.uploaded_ts == 1500
    assert (record.content_type, record.filename, record.size) == ("image/png", "a.png", 3)


async def test_a_failed_file_placement_leaves_the_media_pending(db):
    store = MediaStore(db)
    await store.insert_pending("pendingid", "@a:t", 1000, 2000, max_pending=5)

    async def fail() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        await store.complete_pending("pendingid", UPLOAD, 1500, fail)
    record = await store.get("pendingid")
    assert record is not None and not record.uploaded


async def test_concurrent_claims_of_one_pending_media_let_exactly_one_win(db):
    store = MediaStore(db)
    await store.insert_pending("pendingid", "@a:t", 1000, 2000, max_pending=5)

    async def place() -> None:
        await asyncio.sleep(0.01)

    results = await asyncio.gather(
        *(store.complete_pending("pendingid", UPLOAD, 1500, place) for _ in range(4))
    )
    assert sorted(results) == [False, False, False, True]


async def test_pending_ids_per_user_are_capped_and_expired_ones_do_not_count(db):
    store = MediaStore(db)
    assert await store.insert_pending("expired01", "@a:t", 0, 500, max_pending=2)
    assert await store.insert_pending("pending01", "@a:t", 1000, 5000, max_pending=2)
    assert await store.insert_pending("pending02", "@a:t", 1000, 5000, max_pending=2)
    assert not await store.insert_pending("pending03", "@a:t", 1000, 5000, max_pending=2)
    assert await store.insert_pending("pending04", "@b:t", 1000, 5000, max_pending=2)


async def test_thumbnails_are_recorded_once_per_size_and_method(db):
    store = MediaStore(db)
    await store.insert_uploaded("mediaid01", "@a:t", UPLOAD, 1000)
    thumb = ThumbnailRecord("mediaid01", 96, 96, "crop", "image/png", 120)
    await store.add_thumbnail(thumb, 1000)
    await store.add_thumbnail(thumb, 1001)  # a concurrent request got there first: no error
    assert await store.get_thumbnail("mediaid01", 96, 96, "crop") == thumb
    assert await store.get_thumbnail("mediaid01", 96, 96, "scale") is None
