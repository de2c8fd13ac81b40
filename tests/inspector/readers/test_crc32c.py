"""crc32c: check value, extend semantics and TF's masking (FORMATS.md §1.2)."""

from __future__ import annotations

from inspector.readers.crc32c import crc32c, mask, unmask


def test_check_value():
    assert crc32c(b"123456789") == 0xE3069283


def test_extend_equals_concatenation():
    assert crc32c(b"56789", crc32c(b"1234")) == crc32c(b"123456789")


def test_mask_of_empty_crc_is_the_empty_tensor_value():
    assert crc32c(b"") == 0
    assert mask(0) == 0xA282EAD8


def test_documented_data_crc_masks_to_entry_value():
    data = bytes.fromhex("0000803f00000040")
    assert crc32c(data) == 0x28C0C9B1
    assert mask(0x28C0C9B1) == 0x35E53C59


def test_unmask_inverts_mask():
    for value in (0, 1, 0xFFFFFFFF, 0x12345678, 0xE3069283):
        assert unmask(mask(value)) == value
