"""The public surface is explicit, sorted and complete (the contract in the design doc)."""

from __future__ import annotations

import camvault
from camvault import errors


def test_all_is_sorted_and_importable() -> None:
    assert camvault.__all__ == sorted(camvault.__all__)
    for name in camvault.__all__:
        assert hasattr(camvault, name), name


def test_contract_names_are_exported() -> None:
    for name in (
        "Event", "DetectedObject", "Person", "Camera", "BatchResult", "Page", "Bucket",
        "EventStore", "CamvaultError", "DatabaseError", "DatabaseWriteError",
        "InvalidEventError", "MigrationError",
    ):  # fmt: skip
        assert name in camvault.__all__, name


def test_error_tree() -> None:
    assert issubclass(errors.DatabaseWriteError, errors.DatabaseError)
    assert issubclass(errors.DatabaseError, errors.CamvaultError)
    assert issubclass(errors.InvalidEventError, ValueError)
    assert issubclass(errors.InvalidEventError, errors.CamvaultError)
    assert issubclass(errors.MigrationError, errors.DatabaseError)
    assert issubclass(errors.DatabaseBusyError, errors.DatabaseWriteError)
    documented = errors.__doc__ or ""
    for name in errors.__all__:
        if name != "FieldProblem":
            assert name in documented, f"{name} missing from the tree in errors.py"
